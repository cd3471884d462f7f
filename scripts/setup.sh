#!/usr/bin/env bash
# Prepares a checkout: Debian packages (as root), a virtualenv with the Python
# dependencies of pyproject.toml, and the database schema. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"   # "test" adds the test dependencies
bash scripts/install-system-packages.sh
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=".venv/.deps-$(cat pyproject.toml | sha256sum | cut -c1-16)-${extras:-run}"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python - "$extras" > .venv/requirements.txt <<'PYEOF'
import sys, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
deps = list(project["dependencies"])
if sys.argv[1]:
    deps += project["optional-dependencies"][sys.argv[1]]
print("\n".join(deps))
PYEOF
  .venv/bin/python -m pip install -q -r .venv/requirements.txt
  touch "$stamp"
fi

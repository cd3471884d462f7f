"""`mailservice.sieve` stays a pure core: its modules import without Django, without
subprocess, and without temp files or threads (the tool runs are `mailservice.pigeonhole`)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PURE_MODULES = sorted(
    "mailservice.sieve" if path.stem == "__init__" else f"mailservice.sieve.{path.stem}"
    for path in (ROOT / "mailservice" / "sieve").glob("*.py")
)
UNWANTED = ("django", "django.conf", "tempfile", "threading", "shutil", "concurrent.futures")

CHILD = """
import importlib, json, sys
if sys.argv[2] == "without-subprocess":
    sys.modules["subprocess"] = None  # `import subprocess` now raises ImportError
sys.path.insert(0, sys.argv[1])
for name in sys.argv[4:]:
    importlib.import_module(name)
print(json.dumps([name for name in json.loads(sys.argv[3]) if name in sys.modules]))
"""


def unwanted_after_importing(modules: list[str], *, without_subprocess: bool) -> list[str]:
    """Imports `modules` in a fresh interpreter with no Django settings; the unwanted
    modules it then holds. Django itself needs subprocess: without it, a Django import
    fails before `django.conf` could be counted, hence the run with subprocess too."""
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    mode = "without-subprocess" if without_subprocess else "with-subprocess"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(ROOT), mode, json.dumps(UNWANTED), *modules],
        capture_output=True, text=True, env=env, cwd=ROOT, check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_every_sieve_module_imports_when_subprocess_is_unavailable():
    assert {"mailservice.sieve", "mailservice.sieve.compiler"} <= set(PURE_MODULES)
    assert unwanted_after_importing(PURE_MODULES, without_subprocess=True) == []


def test_no_sieve_module_imports_django_temp_files_or_threads():
    assert unwanted_after_importing(PURE_MODULES, without_subprocess=False) == []


def test_the_check_sees_a_django_import():
    modules = [*PURE_MODULES, "django.conf"]
    assert "django.conf" in unwanted_after_importing(modules, without_subprocess=False)

"""The signatures' rendering core stays pure: its modules import without Django and
without subprocess, temp files or the ORM (the tools and the database live elsewhere).
Unlike the Sieve core, `threading` is tolerated: `phonenumbers` takes a lock when it
loads its metadata, and starts no thread."""
import json
import os
import subprocess
import sys

from tests.sieve.test_purity import CHILD, ROOT

PURE_MODULES = ["signatures.render", "signatures.fields", "signatures.images",
                "signatures.stamping", "signatures.stamp", "signatures.limits"]
UNWANTED = ("django", "django.conf", "django.db", "tempfile", "shutil", "concurrent.futures")


def unwanted_after_importing(modules, *, without_subprocess):
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    mode = "without-subprocess" if without_subprocess else "with-subprocess"
    done = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), mode, json.dumps(UNWANTED),
                           *modules], capture_output=True, text=True, env=env, cwd=ROOT,
                          check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_rendering_core_imports_when_subprocess_is_unavailable():
    assert unwanted_after_importing(PURE_MODULES, without_subprocess=True) == []


def test_the_rendering_core_imports_no_django():
    assert unwanted_after_importing(PURE_MODULES, without_subprocess=False) == []


def test_the_check_sees_a_django_import_here_too():
    modules = [*PURE_MODULES, "signatures.words"]
    assert "django" in unwanted_after_importing(modules, without_subprocess=False)

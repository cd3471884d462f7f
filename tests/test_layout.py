"""The tree must not shadow installed packages (a top-level dns/ would hide dnspython)."""
import importlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_installed_packages_resolve_outside_the_project():
    for name in ("dns", "celery", "rest_framework"):
        module = importlib.import_module(name)
        assert not Path(module.__file__).resolve().is_relative_to(ROOT / name), name
        assert "site-packages" in module.__file__, module.__file__


def test_dns_resolver_imports_from_repository_root():
    out = subprocess.run(
        [sys.executable, "-c", "import dns.resolver, dns.version; print(dns.resolver.__file__)"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    assert "site-packages" in out


def test_dns_app_is_named_dnszones():
    assert not (ROOT / "dns").exists()
    assert (ROOT / "dnszones" / "apps.py").exists()

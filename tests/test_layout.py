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


def _imports(path: Path) -> set[str]:
    """The modules a file imports, relative imports resolved against its package."""
    import ast

    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


def test_pages_never_import_the_api_package():
    """What pages and endpoints share lives in services, selectors, forms or manager/core."""
    pages = [*ROOT.glob("*/views.py"), *ROOT.glob("*/views/*.py"), *ROOT.glob("manager/*/views.py"),
             *ROOT.glob("*/forms.py"), *ROOT.glob("manager/*/forms.py")]
    assert len(pages) > 5
    offending = {str(p.relative_to(ROOT)): sorted(m for m in _imports(p) if ".api" in f".{m}")
                 for p in pages}
    assert {p: m for p, m in offending.items() if m} == {}

"""The product apps' conventional modules, found through the installed apps: the platform
core mounts each app's `api.register(router)` and runs each app's `demo.populate(...)`
without naming any app (a new app plugs in by being installed)."""
import sys
from importlib import import_module
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.utils.module_loading import module_has_submodule


def project_apps():
    """Installed apps whose code is part of this project (not Django's or a library's),
    in INSTALLED_APPS order. The virtualenv may live inside the checkout (`.venv/`): what
    is installed there is a library, however near."""
    root = Path(settings.BASE_DIR).resolve()
    environment = Path(sys.prefix).resolve()

    def ours(config) -> bool:
        path = Path(config.path).resolve()
        return (path.is_relative_to(root) and not path.is_relative_to(environment)
                and "site-packages" not in path.parts)

    return [config for config in apps.get_app_configs() if ours(config)]


def app_modules(name: str, *, needs: str):
    """Each project app's module `name` (e.g. "api") that defines `needs` (e.g. "register"),
    in INSTALLED_APPS order."""
    found = []
    for config in project_apps():
        if not module_has_submodule(config.module, name):
            continue
        module = import_module(f"{config.name}.{name}")
        if hasattr(module, needs):
            found.append(module)
    return found

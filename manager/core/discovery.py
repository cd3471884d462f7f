"""The product apps' conventional modules, found through the installed apps: the platform
core mounts each app's `api.register(router)` and runs each app's `demo.populate(...)`
without naming any app (a new app plugs in by being installed)."""
from importlib import import_module
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.utils.module_loading import module_has_submodule


def project_apps():
    """Installed apps whose code is part of this project (not Django's or a library's),
    in INSTALLED_APPS order."""
    root = Path(settings.BASE_DIR).resolve()
    return [config for config in apps.get_app_configs()
            if Path(config.path).resolve().is_relative_to(root)]


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

"""The platform core finds the product apps through the installed apps: an app that is
installed gets its API routes, its pages and its demo data without the core naming it."""
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.urls import URLResolver
from django.urls.resolvers import RegexPattern

from manager.core.discovery import app_modules, project_apps
from tests.plugin_app import demo as plugin_demo

ROOT = Path(__file__).resolve().parent.parent
WITH_PLUGIN = [*settings.INSTALLED_APPS, "tests.plugin_app"]
# The modules of the platform core that wire the apps together.
WIRING = ["manager/api_urls.py", "manager/urls.py",
          "manager/accounts/management/commands/demo.py", "manager/core/discovery.py"]


def product_app_names():
    return [config.name for config in project_apps() if not config.name.startswith("manager.")]


def test_the_wiring_names_no_product_app():
    names = product_app_names()
    assert names  # the check below would pass vacuously without product apps
    for relative in WIRING:
        text = (ROOT / relative).read_text()
        assert [name for name in names if name in text] == [], relative


def test_every_product_app_with_an_api_module_is_mounted():
    from manager.api_urls import build_router

    mounted = {viewset.__module__ for _prefix, viewset, _basename in build_router().registry}
    expected = {module.__name__ for module in app_modules("api", needs="register")}
    assert expected and all(any(m.startswith(api) for m in mounted) for api in expected)


def test_an_installed_app_gets_its_api_routes():
    from manager.api_urls import build_router

    assert "gadgets" not in [prefix for prefix, *_ in build_router().registry]
    with override_settings(INSTALLED_APPS=WITH_PLUGIN):
        assert "gadgets" in [prefix for prefix, *_ in build_router().registry]


def test_an_installed_app_gets_its_pages_under_its_prefix():
    from manager.urls import app_urlpatterns

    def mounted():
        return {str(p.pattern): p.urlconf_module.__name__ for p in app_urlpatterns()}

    assert "tests.plugin_app.urls" not in mounted().values()
    with override_settings(INSTALLED_APPS=WITH_PLUGIN):
        assert mounted()["gadgets/"] == "tests.plugin_app.urls"
        resolver = URLResolver(RegexPattern(r"^/"), app_urlpatterns())
        assert resolver.resolve("/gadgets/").view_name == "plugin_app:index"


@pytest.mark.django_db
def test_an_installed_app_gets_its_demo_data():
    plugin_demo.populated.clear()
    call_command("demo", "--json", stdout=StringIO())
    assert plugin_demo.populated == []
    with override_settings(INSTALLED_APPS=WITH_PLUGIN):
        call_command("demo", "--json", stdout=StringIO())
    assert plugin_demo.populated == [("owner@demo.example", "Demo Hosting")]


def test_libraries_are_never_project_apps_even_with_the_virtualenv_inside_the_checkout():
    names = [config.name for config in project_apps()]
    assert "mailservice" in names
    assert not {"rest_framework", "drf_spectacular", "django_filters", "django_htmx"} & set(names)

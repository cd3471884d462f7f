"""The product's own error pages: 400/403/404/500 in the shell, translated, with the error's
message and a way back; under /api/ the API's one error shape instead."""
import json

import pytest
from django.core.exceptions import BadRequest, PermissionDenied
from django.db import OperationalError, connections
from django.http import Http404
from django.test import Client, RequestFactory
from django.utils import translation

from manager.accounts.api import OrganisationViewSet
from manager.core import views as core_views
from manager.core.views import HomeView, error_message, server_error
from tests.factories import grant

pytestmark = pytest.mark.django_db

RULES_REFUSED = "You need the “Manage sorting rules” permission on this address."


def crash(*args, **kwargs):
    raise RuntimeError("secret internals: /srv/db password=hunter2")


@pytest.fixture
def quiet_client():
    """A client that gets the 500 page instead of the test re-raising the exception."""
    return Client(raise_request_exception=False)


def test_an_unknown_page_is_the_products_404_in_the_shell(client, owner, organisation):
    client.force_login(owner)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert 'class="sidebar"' in html and "owner@example.org" in html  # the shell, logged in
    assert "Page not found" in html
    assert "This page does not exist, or you may not see it." in html
    assert 'href="/">Back to the home page' in html.replace('class="button" ', "")


def test_another_organisations_address_is_the_same_404(client, owner, organisation, foreign_address):
    client.force_login(owner)
    response = client.get(f"/mail/addresses/{foreign_address.pk}/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "This page does not exist, or you may not see it." in html
    assert "matches the given query" not in html  # the model name stays inside


def test_a_refusal_shows_its_message_and_a_link_back(client, owner, alice, member):
    grant(owner, alice, member, ["read"])
    client.force_login(member)
    previous = f"http://testserver/mail/addresses/{alice.pk}/"
    response = client.get(f"/mail/addresses/{alice.pk}/rules/", HTTP_REFERER=previous)
    assert response.status_code == 403
    html = response.content.decode()
    assert "Access refused" in html and RULES_REFUSED in html
    assert f'href="{previous}"' in html and "Back to the previous page" in html


def test_the_link_back_never_leads_to_another_site(client, owner, alice, member):
    grant(owner, alice, member, ["read"])
    client.force_login(member)
    response = client.get(f"/mail/addresses/{alice.pk}/rules/",
                          HTTP_REFERER="https://evil.example/phish")
    html = response.content.decode()
    assert response.status_code == 403
    assert "evil.example" not in html and "Back to the previous page" not in html


def test_error_pages_are_translated(client, owner, alice, member):
    grant(owner, alice, member, ["read"])
    client.force_login(member)
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    html = client.get(f"/mail/addresses/{alice.pk}/rules/").content.decode()
    assert '<html lang="fr">' in html
    assert "Accès refusé" in html and "Il vous faut la permission « Gérer les règles de tri » sur cette adresse." in html
    assert "Retour à l’accueil" in html and RULES_REFUSED not in html
    html = client.get("/no-such-page/").content.decode()
    assert "Page introuvable" in html and "Page not found" not in html


def test_a_refusal_raised_in_english_is_shown_in_the_users_language():
    """RestrictedView.require raises "Your role does not allow this action." untranslated."""
    refusal = PermissionDenied("Your role does not allow this action.")
    with translation.override("fr"):
        assert error_message(403, refusal) == "Votre rôle ne permet pas cette action."
        assert error_message(403, PermissionDenied("Pas à vous.")) == "Pas à vous."
        assert error_message(403, PermissionDenied()) == "Vous ne pouvez pas faire cela."


def test_a_bad_request_is_the_products_400_without_internals(client):
    response = client.get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Bad request" in html and "The request could not be understood." in html
    assert "ALLOWED_HOSTS" not in html


def test_a_crash_is_the_products_500_without_internals(quiet_client, owner, organisation,
                                                       monkeypatch):
    quiet_client.force_login(owner)
    monkeypatch.setattr(HomeView, "get", crash)
    response = quiet_client.get("/")
    assert response.status_code == 500
    html = response.content.decode()
    assert 'class="sidebar"' in html and "Server error" in html
    assert "Something went wrong on our side." in html
    assert "hunter2" not in html and "Traceback" not in html


def test_the_500_page_renders_when_the_database_is_down(db, quiet_client, owner, organisation,
                                                        monkeypatch):
    quiet_client.force_login(owner)

    def database_down(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(type(connections["default"]), "cursor", database_down)
    response = quiet_client.get("/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Server error" in html and "Something went wrong on our side." in html
    assert "css/manager.css" in html  # still the product's shell
    assert 'class="sidebar"' not in html  # without the chrome that needs the user


def test_the_500_page_has_a_minimal_fallback_when_nothing_renders(monkeypatch):
    monkeypatch.setattr(core_views.loader, "render_to_string", crash)
    with translation.override("en"):
        response = server_error(RequestFactory().get("/mail/"))
    assert response.status_code == 500
    html = response.content.decode()
    assert "<h1>Server error</h1>" in html and 'href="/"' in html and "hunter2" not in html


# --- Under /api/ the error shape stays -------------------------------------------------

def test_an_unknown_api_url_answers_the_error_shape(owner_api):
    response = owner_api.get("/api/v1/no-such-resource/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": {"code": "not_found", "message": response.json()["error"]["message"],
                                         "fields": {}}}
    assert response.json()["error"]["message"]


def test_an_endpoint_crash_answers_the_error_shape(owner_api, monkeypatch):
    monkeypatch.setattr(OrganisationViewSet, "list", crash)
    owner_api.raise_request_exception = False
    response = owner_api.get("/api/v1/organisations/")
    assert response.status_code == 500
    body = response.json()
    assert body["error"]["code"] == "server_error" and body["error"]["fields"] == {}
    assert "hunter2" not in response.content.decode()


@pytest.mark.parametrize(("status", "code"), [(400, "bad_request"), (403, "permission_denied"),
                                              (404, "not_found")])
def test_the_api_error_shape_from_every_handler(status, code):
    handler = {400: core_views.bad_request, 403: core_views.permission_denied,
               404: core_views.page_not_found}[status]
    exception = {400: BadRequest(), 403: PermissionDenied("Not yours."), 404: Http404()}[status]
    response = handler(RequestFactory().get("/api/v1/addresses/1/"), exception)
    assert response.status_code == status
    body = json.loads(response.content)["error"]
    assert body["code"] == code and body["fields"] == {} and body["message"]
    if status == 403:
        assert body["message"] == "Not yours."


def test_an_existing_endpoint_keeps_its_own_404(owner_api):
    response = owner_api.get("/api/v1/organisations/999999/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_a_form_without_its_csrf_token_gets_the_products_403(owner, organisation):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    assert response.status_code == 403
    html = response.content.decode()
    assert 'class="sidebar"' in html and "Access refused" in html
    assert "This form had expired or was sent from another page." in html
    assert "CSRF verification failed" not in html

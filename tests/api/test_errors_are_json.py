"""An endpoint that also answers a file (CSV, an Apple configuration profile) still answers
its errors in JSON, in the one error shape, whatever type the client asked for; and each
refusal an operation gives is one its schema documents."""
import pytest

from tests.api.schema_check import check

pytestmark = pytest.mark.django_db


def assert_json_error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    assert response.json()["error"]["code"] == code


def test_export_refuses_a_missing_service_in_json_even_when_csv_is_asked(owner_api):
    response = owner_api.get("/api/v1/addresses/export/", HTTP_ACCEPT="text/csv")
    assert_json_error(response, 400, "required")
    response = owner_api.get("/api/v1/addresses/export/?format=csv&mail_service=987654")
    assert_json_error(response, 400, "does_not_exist")


def test_the_export_itself_is_still_csv(owner_api, premium, alice):
    response = owner_api.get(f"/api/v1/addresses/export/?mail_service={premium.pk}",
                             HTTP_ACCEPT="text/csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert b"alice" in b"".join(response.streaming_content)


def test_a_missing_address_profile_is_a_json_404(owner_api, organisation):
    response = owner_api.get("/api/v1/addresses/987654/client-config/mobileconfig/"
                             "?format=mobileconfig")
    assert_json_error(response, 404, "not_found")


def test_connectivity_check_of_an_unknown_service_is_a_documented_404(owner_api, organisation,
                                                                      schema):
    path = "/api/v1/tools/connectivity-check/"
    response = owner_api.post(path, {"mail_service": 987654}, format="json")
    assert_json_error(response, 404, "not_found")
    check(schema, "post", path, response)


def test_a_post_to_an_unknown_api_url_is_refused_in_json(client):
    """The CSRF middleware refuses it before any API view runs: still the one error shape."""
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/api/v1/addresses/-1/rules/reorder/", b"{}",
                           content_type="application/json")
    assert_json_error(response, 403, "permission_denied")
    page = strict.post("/mail/tools/connectivity/", {})
    assert page.status_code == 403 and page["Content-Type"].startswith("text/html")

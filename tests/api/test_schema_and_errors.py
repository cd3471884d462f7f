import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import UserRateThrottle

pytestmark = pytest.mark.django_db


def test_schema_is_served_and_valid(api, owner):
    import yaml
    from openapi_spec_validator import validate

    response = api(owner).get("/api/v1/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate(schema)
    assert "/api/v1/organisations/" in schema["paths"]
    assert "/api/v1/organisations/{organisation_pk}/members/" in schema["paths"]


def test_docs_page_uses_local_assets(client, owner):
    client.force_login(owner)
    page = client.get("/api/v1/docs/").content.decode()
    assert "swagger-ui" in page and "cdn.jsdelivr" not in page


def test_unknown_object_has_the_error_shape(api, owner):
    response = api(owner).get("/api/v1/organisations/999999/")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": response.json()["error"]["message"], "fields": {}}}


def test_throttling_answers_429_with_code(api, owner, monkeypatch):
    monkeypatch.setitem(UserRateThrottle.THROTTLE_RATES, "user", "3/min")
    client = api(owner)
    codes = [client.get("/api/v1/tokens/").status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[-1] == 429
    assert client.get("/api/v1/tokens/").json()["error"]["code"] == "throttled"


def test_bad_json_is_a_400_with_code(api, owner):
    response = api(owner).generic("POST", "/api/v1/organisations/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_anonymous_gets_401_with_www_authenticate():
    response = APIClient().get("/api/v1/organisations/")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Bearer"

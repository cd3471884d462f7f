import pytest
from rest_framework.test import APIClient

from manager.accounts.models import ApiToken, hash_token

pytestmark = pytest.mark.django_db


def test_token_is_shown_once_and_stored_hashed(api, owner):
    client = api(owner)
    response = client.post("/api/v1/tokens/", {"name": "ci"}, format="json")
    assert response.status_code == 201
    raw = response.json()["token"]
    row = ApiToken.objects.get(pk=response.json()["id"])
    assert row.token_hash == hash_token(raw) and raw not in (row.token_hash, row.hint)
    listing = client.get("/api/v1/tokens/").json()["results"]
    assert all("token" not in t for t in listing)
    assert "token" not in client.get(f"/api/v1/tokens/{row.pk}/").json()


def test_revoked_token_gets_401(api, owner):
    client = api(owner)
    raw = client.post("/api/v1/tokens/", {"name": "temp"}, format="json").json()["token"]
    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert fresh.get("/api/v1/tokens/").status_code == 200
    pk = ApiToken.objects.get(token_hash=hash_token(raw)).pk
    assert client.delete(f"/api/v1/tokens/{pk}/").status_code == 204
    response = fresh.get("/api/v1/tokens/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_tokens_of_others_are_404(api, owner, outsider):
    client = api(owner)
    pk = client.post("/api/v1/tokens/", {"name": "mine"}, format="json").json()["id"]
    assert api(outsider).get(f"/api/v1/tokens/{pk}/").status_code == 404
    assert api(outsider).delete(f"/api/v1/tokens/{pk}/").status_code == 404
    assert ApiToken.objects.get(pk=pk).revoked is None


def test_anonymous_gets_401(db):
    assert APIClient().get("/api/v1/tokens/").status_code == 401


def test_malformed_bearer_header(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer")
    assert client.get("/api/v1/tokens/").status_code == 401


def test_a_token_call_leaves_the_panels_language_as_it_was(api, owner, organisation, client):
    """The language is remembered from the panel; a script's calls (no Accept-Language)
    neither change it nor write to the account."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    owner.language = "fr"
    owner.save(update_fields=["language"])
    token_client = api(owner)
    token_client.get("/api/v1/organisations/")  # the token's once-a-minute last_used stamp
    with CaptureQueriesContext(connection) as queries:
        assert token_client.get("/api/v1/organisations/",
                                HTTP_ACCEPT_LANGUAGE="en").status_code == 200
    assert not [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    owner.refresh_from_db()
    assert owner.language == "fr"
    client.force_login(owner)  # the panel does remember it
    assert client.get("/", HTTP_ACCEPT_LANGUAGE="en").status_code in (200, 302)
    owner.refresh_from_db()
    assert owner.language == "en"


def test_the_token_query_is_compiled_once_but_every_answer_is_read_fresh(owner, settings):
    """The token's SQL is reused across requests; its answer never is: another token
    names its own user, a ban made between two calls and a deactivated account count at
    the next call, from IPv4 and IPv6 alike."""
    from manager.accounts.services import api_token_create
    from manager.security import services as bans
    from tests.factories import make_user

    other = make_user("other-token@example.org")
    _t, raw_owner = api_token_create(actor=owner, name="a")
    _t, raw_other = api_token_create(actor=other, name="b")
    for address in ("192.0.2.9", "2001:db8::9"):
        client = APIClient(REMOTE_ADDR=address)
        for raw, user in ((raw_owner, owner), (raw_other, other)):
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
            assert client.get("/api/v1/tokens/").json()["results"][0]["name"] == (
                "a" if user == owner else "b")
    client = APIClient(REMOTE_ADDR="192.0.2.9")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_owner}")
    for _ in range(settings.BANS["account_failures"]):
        bans.record_failure("192.0.2.9", owner.email, protocol="web")
    assert client.get("/api/v1/tokens/").status_code == 429
    client = APIClient(REMOTE_ADDR="2001:db8::9")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_other}")
    assert client.get("/api/v1/tokens/").status_code == 200
    other.is_active = False
    other.save(update_fields=["is_active"])
    assert client.get("/api/v1/tokens/").status_code == 401

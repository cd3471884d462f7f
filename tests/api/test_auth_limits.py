"""The first line against guessing: failed logins, tokens and invitation links, and
password-reset requests, are limited per account and per client IP (429 past the limit)."""
import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

LIMITS = {"login": {"per_account": 3, "per_ip": 6, "window_seconds": 900},
          "token": {"per_account": 0, "per_ip": 4, "window_seconds": 900},
          "invitation": {"per_account": 0, "per_ip": 4, "window_seconds": 900},
          "password_reset": {"per_account": 2, "per_ip": 5, "window_seconds": 900}}


@pytest.fixture(autouse=True)
def small_limits(settings):
    settings.AUTH_LIMITS = LIMITS


def log_in(client, email, password, ip="192.0.2.1"):
    return client.post("/accounts/login/", {"username": email, "password": password},
                       REMOTE_ADDR=ip)


def test_failed_logins_lock_the_account_then_the_window_ends(client, owner):
    for _ in range(3):
        assert log_in(client, owner.email, "wrong").status_code == 200
    refused = log_in(client, owner.email, PASSWORD)  # even the right password, now
    assert refused.status_code == 429 and "Too many attempts" in refused.content.decode()
    assert "_auth_user_id" not in client.session
    assert log_in(client, owner.email, PASSWORD, ip="192.0.2.99").status_code == 429
    cache.clear()  # the window has ended
    assert log_in(client, owner.email, PASSWORD).status_code == 302


def test_a_success_forgets_the_accounts_failures(client, owner):
    for _ in range(2):
        log_in(client, owner.email, "wrong")
    assert log_in(client, owner.email, PASSWORD).status_code == 302
    client.logout()
    for _ in range(2):
        assert log_in(client, owner.email, "wrong").status_code == 200
    assert log_in(client, owner.email, PASSWORD).status_code == 302


def test_spraying_many_accounts_from_one_ip_is_refused(client, db):
    people = [make_user(f"p{i}@example.org") for i in range(4)]
    for person in people:
        log_in(client, person.email, "wrong")
        log_in(client, person.email, "wrong")
    assert log_in(client, people[0].email, PASSWORD).status_code == 429
    assert log_in(client, make_user("fresh@example.org").email, PASSWORD).status_code == 429
    assert log_in(client, "fresh@example.org", PASSWORD, ip="198.51.100.7").status_code == 302


def test_bad_tokens_from_one_ip_are_refused_then_429(owner):
    from tests.conftest import client_for

    good = client_for(owner)
    bad = APIClient(REMOTE_ADDR="203.0.113.5")
    for i in range(4):
        bad.credentials(HTTP_AUTHORIZATION=f"Bearer mm_guess{i}")
        assert bad.get("/api/v1/organisations/").status_code == 401
    bad.credentials(HTTP_AUTHORIZATION="Bearer mm_guess-again")
    response = bad.get("/api/v1/organisations/")
    assert response.status_code == 429 and response.json()["error"]["code"] == "throttled"
    assert good.get("/api/v1/organisations/").status_code == 200  # another client IP


def test_guessing_invitation_links_is_refused(api, owner):
    client = api(owner)
    for i in range(4):
        assert client.post(f"/api/v1/invitations/guess{i}/accept/").status_code == 404
    assert client.post("/api/v1/invitations/guess5/accept/").status_code == 429


def test_password_reset_requests_are_limited(client, owner, mailoutbox):
    for _ in range(2):
        assert client.post("/accounts/password-reset/", {"email": owner.email}).status_code == 302
    again = client.post("/accounts/password-reset/", {"email": owner.email})
    assert again.status_code == 429 and len(mailoutbox) == 2

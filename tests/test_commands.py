import json

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from manager.accounts.models import ApiToken, Organisation, User

pytestmark = pytest.mark.django_db


def run(*args):
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_demo_is_idempotent_and_shows_its_random_credentials_once():
    first = json.loads(run("demo", "--json"))
    second = json.loads(run("demo", "--json"))
    assert set(first) >= {"email", "password", "api_token", "organisation_id"}
    assert first["password"] and first["api_token"].startswith(ApiToken.PREFIX)
    # Shown once: the second run neither prints nor changes them.
    assert second == {**first, "password": None, "api_token": None}
    assert User.objects.filter(email=first["email"]).count() == 1
    assert Organisation.objects.filter(pk=first["organisation_id"]).count() == 1
    assert ApiToken.objects.filter(name="demo", revoked__isnull=True).count() == 1
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {first['api_token']}")
    results = client.get("/api/v1/organisations/").json()["results"]
    assert [o["id"] for o in results] == [first["organisation_id"]]
    assert APIClient().login(username=first["email"], password=first["password"])


def test_show_credentials_replaces_the_password_and_token():
    first = json.loads(run("demo", "--json"))
    shown = json.loads(run("demo", "--json", "--show-credentials"))
    assert shown["password"] and shown["password"] != first["password"]
    assert shown["api_token"] and shown["api_token"] != first["api_token"]
    assert not APIClient().login(username=first["email"], password=first["password"])
    assert APIClient().login(username=shown["email"], password=shown["password"])
    old, new = APIClient(), APIClient()
    old.credentials(HTTP_AUTHORIZATION=f"Bearer {first['api_token']}")
    new.credentials(HTTP_AUTHORIZATION=f"Bearer {shown['api_token']}")
    assert old.get("/api/v1/organisations/").status_code == 401
    assert new.get("/api/v1/organisations/").status_code == 200
    assert "Password:" in run("demo", "--show-credentials")


def test_demo_refuses_a_production_configuration_unless_forced(settings):
    from django.core.management.base import CommandError

    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        run("demo")
    assert not User.objects.filter(email="owner@demo.example").exists()
    assert json.loads(run("demo", "--json", "--force"))["password"]


def test_create_api_token_prints_a_working_token(owner):
    raw = run("create_api_token", owner.email).strip()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/tokens/").status_code == 200


def test_create_api_token_for_unknown_user_fails():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        run("create_api_token", "nobody@example.org")


def test_demo_creates_mail_data_once():
    from mailservice.models import Address, AddressAccess, MailService

    run("demo")
    run("demo")
    service = MailService.objects.get(domain="demo.example")
    assert sorted(Address.objects.filter(mail_service=service).values_list("local_part", flat=True)) == [
        "alice", "catchall", "contact"]
    assert AddressAccess.objects.filter(address__mail_service=service).count() == 3


def test_an_owner_left_with_the_old_known_credentials_gets_new_ones():
    import base64
    import hashlib
    import hmac

    from django.conf import settings

    from manager.accounts.models import hash_token

    first = json.loads(run("demo", "--json"))
    owner = User.objects.get(email=first["email"])
    owner.set_password("demo-owner-2026")  # what every earlier installation had
    owner.save()
    digest = hmac.new(settings.DEVELOPMENT_SECRET_KEY.encode(), b"demo-api-token", hashlib.sha256).digest()
    legacy = ApiToken.PREFIX + base64.urlsafe_b64encode(digest).decode().rstrip("=")
    ApiToken.objects.create(user=owner, name="old demo", token_hash=hash_token(legacy), hint=legacy[:10])

    renewed = json.loads(run("demo", "--json"))
    assert renewed["password"] and renewed["api_token"]
    assert not APIClient().login(username=owner.email, password="demo-owner-2026")
    old = APIClient()
    old.credentials(HTTP_AUTHORIZATION=f"Bearer {legacy}")
    assert old.get("/api/v1/organisations/").status_code == 401
    assert json.loads(run("demo", "--json"))["password"] is None  # and then left alone

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


def test_demo_is_idempotent_and_its_token_works():
    first = json.loads(run("demo", "--json"))
    second = json.loads(run("demo", "--json"))
    assert first == second
    assert set(first) >= {"email", "password", "api_token", "organisation_id"}
    assert User.objects.filter(email=first["email"]).count() == 1
    assert Organisation.objects.filter(pk=first["organisation_id"]).count() == 1
    assert ApiToken.objects.filter(name="demo").count() == 1
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {first['api_token']}")
    results = client.get("/api/v1/organisations/").json()["results"]
    assert [o["id"] for o in results] == [first["organisation_id"]]
    assert APIClient().login(username=first["email"], password=first["password"])


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

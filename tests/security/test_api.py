"""The bans and device-hygiene endpoints."""
from datetime import timedelta

import pytest
from django.utils import timezone

from mailservice import services
from mailservice.models import DevicePassword
from manager.audit.models import AuditEntry
from manager.security import services as bans

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def one_failure_bans(settings):
    settings.BANS = {**settings.BANS, "account_failures": 1}


def test_admins_list_and_lift_the_bans_of_their_addresses_members_get_403(
        api, owner, member, organisation, alice):
    ban = bans.record_failure("192.0.2.1", alice.email, protocol="imap")
    bans.record_failure("192.0.2.1", "someone@elsewhere.test", protocol="imap")
    url = f"/api/v1/organisations/{organisation.pk}/bans/"
    assert api(member).get(url).status_code == 403
    listed = api(owner).get(url).json()["results"]
    assert [(b["id"], b["account"], b["network"]) for b in listed] == [
        (ban.pk, alice.email, "192.0.2.1/32")]
    assert api(member).post(f"{url}{ban.pk}/lift/").status_code == 403
    assert api(owner).post(f"{url}{ban.pk}/lift/").status_code == 200
    assert bans.active_ban("192.0.2.1", alice.email) is None
    assert AuditEntry.objects.filter(verb="ban.lift", organisation=organisation).count() == 1


def test_another_organisations_ban_cannot_be_lifted(api, owner, organisation):
    foreign = bans.record_failure("192.0.2.1", "someone@elsewhere.test", protocol="imap")
    url = f"/api/v1/organisations/{organisation.pk}/bans/{foreign.pk}/lift/"
    assert api(owner).post(url).status_code == 404
    assert bans.active_ban("192.0.2.1", "someone@elsewhere.test") is not None


def test_unused_device_passwords_are_flagged_and_revoked_in_bulk(api, owner, alice, settings):
    settings.DEVICE_UNUSED_DAYS = 30
    services.access_grant(actor=owner, address=alice, user=owner, permissions=["read"])
    old, _ = services.device_password_create(actor=owner, address=alice, name="old phone")
    used, _ = services.device_password_create(actor=owner, address=alice, name="laptop")
    fresh, _ = services.device_password_create(actor=owner, address=alice, name="new tablet")
    long_ago = timezone.now() - timedelta(days=40)
    DevicePassword.objects.filter(pk__in=[old.pk, used.pk]).update(created=long_ago)
    DevicePassword.objects.filter(pk=used.pk).update(last_used=timezone.now() - timedelta(days=2))
    url = f"/api/v1/addresses/{alice.pk}/device-passwords/"
    flags = {d["name"]: d["unused"] for d in api(owner).get(url).json()["results"]}
    assert flags == {"old phone": True, "laptop": False, "new tablet": False}
    assert api(owner).post(url + "revoke-unused/").json() == {"revoked": 1}
    assert DevicePassword.objects.get(pk=old.pk).revoked is not None
    assert DevicePassword.objects.filter(revoked__isnull=True).count() == 2
    assert AuditEntry.objects.filter(verb="device_password.revoke_unused").count() == 1


def test_a_network_is_allowed_only_after_the_warning_is_accepted_and_who_when_is_kept(
        api, owner, member, organisation, alice):
    url = f"/api/v1/organisations/{organisation.pk}/allowed-networks/"
    warning = api(owner).get(url + "warning/").json()
    refused = api(owner).post(url, {"network": "192.0.2.0/24", "accepted_warning_version": 0},
                              format="json")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "consent_required"
    assert refused.json()["error"]["message"] == warning["text"]
    assert api(member).post(url, {"network": "192.0.2.0/24",
                                  "accepted_warning_version": warning["version"]},
                            format="json").status_code == 403
    made = api(owner).post(url, {"network": "192.0.2.7/24", "label": "office",
                                 "accepted_warning_version": warning["version"]}, format="json")
    assert made.status_code == 201, made.content
    body = made.json()
    assert (body["network"], body["accepted_by"], body["warning_text"]) == (
        "192.0.2.0/24", owner.email, warning["text"])
    assert body["accepted_at"]
    assert AuditEntry.objects.filter(verb="allowed_network.add", organisation=organisation).exists()

    # The organisation's accounts are never banned from there; others still are.
    for _ in range(5):
        assert bans.record_failure("192.0.2.9", alice.email, protocol="imap") is None
    assert bans.active_ban("192.0.2.9", alice.email) is None
    assert bans.record_failure("192.0.2.9", "stranger@elsewhere.test", protocol="imap") is not None

    assert api(owner).delete(f"{url}{body['id']}/").status_code == 204
    assert bans.record_failure("192.0.2.9", alice.email, protocol="imap") is not None


def test_a_network_too_large_is_not_allowed(api, owner, organisation):
    url = f"/api/v1/organisations/{organisation.pk}/allowed-networks/"
    response = api(owner).post(url, {"network": "10.0.0.0/8", "accepted_warning_version": 1},
                               format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "network_too_large"

"""The login-security page and the device passwords' hygiene on their page."""
from datetime import timedelta

import pytest
from django.utils import timezone

from mailservice import services
from mailservice.models import DevicePassword
from manager.security import services as bans
from manager.security.models import AllowedNetwork

pytestmark = pytest.mark.django_db


@pytest.fixture
def ban(settings, alice):
    settings.BANS = {**settings.BANS, "account_failures": 1}
    return bans.record_failure("192.0.2.1", alice.email, protocol="imap")


def test_admins_see_and_lift_a_ban_members_get_403(client, owner, member, organisation, ban):
    url = f"/security/organisations/{organisation.pk}/"
    client.force_login(member)
    assert client.get(url).status_code == 403
    client.force_login(owner)
    page = client.get(url).content.decode()
    assert "alice@domain.xyz" in page and "192.0.2.1/32" in page
    assert client.post(url, {"operation": "lift", "ban": ban.pk}).status_code == 302
    assert bans.active_ban("192.0.2.1", "alice@domain.xyz") is None


def test_allowing_a_network_needs_the_box_ticked(client, owner, organisation):
    url = f"/security/organisations/{organisation.pk}/"
    client.force_login(owner)
    body = {"operation": "allow", "network": "192.0.2.0/24", "warning_version": bans.ALLOW_WARNING_VERSION}
    refused = client.post(url, body)
    assert refused.status_code == 400 and not AllowedNetwork.objects.exists()
    assert client.post(url, {**body, "accept_warning": "yes"}).status_code == 302
    entry = AllowedNetwork.objects.get()
    assert entry.accepted_by == owner and entry.warning_text == bans.allow_warning()


def test_the_device_page_flags_unused_passwords_and_revokes_them_in_bulk(client, owner, alice, settings):
    settings.DEVICE_UNUSED_DAYS = 30
    services.access_grant(actor=owner, address=alice, user=owner, permissions=["read"])
    old, _ = services.device_password_create(actor=owner, address=alice, name="old phone")
    services.device_password_create(actor=owner, address=alice, name="laptop")
    DevicePassword.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(days=40))
    client.force_login(owner)
    url = f"/mail/addresses/{alice.pk}/devices/"
    page = client.get(url).content.decode()
    assert page.count(">unused<") == 1 and "Revoke the unused passwords" in page
    assert client.post(url, {"operation": "revoke_unused"}).status_code == 302
    assert DevicePassword.objects.get(pk=old.pk).revoked is not None
    assert DevicePassword.objects.filter(revoked__isnull=True).count() == 1

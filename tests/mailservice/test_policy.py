"""Dovecot's auth policy endpoint: reports stamp a device password's last use."""
import pytest

from mailservice import services
from mailservice.models import DevicePassword

pytestmark = pytest.mark.django_db
URL = "/internal/dovecot-policy/"


@pytest.fixture
def device(owner, alice):
    services.access_grant(actor=owner, address=alice, user=owner, permissions=["read"])
    device, _ = services.device_password_create(actor=owner, address=alice, name="laptop")
    return device


def post(client, command, body, secret="s3cret"):
    return client.post(f"{URL}?command={command}", body, content_type="application/json",
                       HTTP_X_MAIL_MANAGER_POLICY=secret)


def test_successful_login_report_stamps_last_used(client, settings, device):
    settings.MAIL_POLICY_SECRET = "s3cret"
    response = post(client, "report", {"login": "alice@domain.xyz", "success": True, "device": str(device.ref)})
    assert response.status_code == 200 and response.json() == {"status": 0, "msg": ""}
    device.refresh_from_db()
    assert device.last_used is not None


def test_failed_login_or_allow_stamps_nothing(client, settings, device):
    settings.MAIL_POLICY_SECRET = "s3cret"
    post(client, "report", {"success": False, "device": str(device.ref)})
    assert post(client, "allow", {"device": str(device.ref)}).json()["status"] == 0
    post(client, "report", {"success": True, "device": "not-a-uuid"})
    assert DevicePassword.objects.get(pk=device.pk).last_used is None


def test_wrong_or_missing_secret_is_refused(client, settings, device):
    settings.MAIL_POLICY_SECRET = "s3cret"
    assert post(client, "report", {"success": True, "device": str(device.ref)}, secret="nope").status_code == 403
    settings.MAIL_POLICY_SECRET = ""
    assert post(client, "report", {"success": True, "device": str(device.ref)}, secret="").status_code == 403
    assert DevicePassword.objects.get(pk=device.pk).last_used is None


def test_revoked_device_is_not_stamped(client, settings, owner, device):
    settings.MAIL_POLICY_SECRET = "s3cret"
    services.device_password_revoke(actor=owner, device=device)
    post(client, "report", {"success": True, "device": str(device.ref)})
    assert DevicePassword.objects.get(pk=device.pk).last_used is None

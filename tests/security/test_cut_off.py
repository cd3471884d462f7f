"""Disabling a person, or removing them from the organisation, ends their access at once
(the real backend's kick is in tests/e2e/test_mail_bans.py)."""
import pytest
from rest_framework.test import APIClient

from mailservice import services as mail
from mailservice.desired import desired_state
from mailservice.models import AddressAccess, DevicePassword
from manager.accounts import services as accounts
from manager.accounts.models import Membership
from manager.audit.models import AuditEntry
from manager.core.errors import ServiceError
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def member_on_alice(owner, member, alice):
    mail.access_grant(actor=owner, address=alice, user=member, permissions=["read", "send"])
    device, _ = mail.device_password_create(actor=owner, address=alice, name="phone", user=member)
    return device


def test_removing_a_member_ends_their_mail_access_to_the_organisations_addresses(
        owner, member, organisation, premium, alice, member_on_alice):
    accounts.member_remove(actor=owner, membership=Membership.objects.get(user=member))
    assert not AddressAccess.objects.filter(user=member).exists()
    assert not DevicePassword.objects.filter(pk=member_on_alice.pk).exists()
    assert desired_state(premium).device_passwords == ()
    assert AuditEntry.objects.filter(verb="access.remove", object_repr__startswith=member.email).exists()


def test_disabling_a_person_ends_sessions_tokens_and_device_passwords(
        client, owner, member, premium, alice, member_on_alice):
    staff = make_user("staff@example.org", is_staff=True)
    _token, raw = accounts.api_token_create(actor=member, name="ci")
    assert client.login(username=member.email, password=PASSWORD)
    assert client.get("/my-mail/").status_code == 200

    accounts.user_disable(actor=staff, user=member)
    assert "_auth_user_id" not in client.session
    response = client.get("/my-mail/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/organisations/").status_code == 401
    assert DevicePassword.objects.get(pk=member_on_alice.pk).revoked is not None
    assert desired_state(premium).device_passwords == ()
    entry = AuditEntry.objects.get(verb="user.disable")
    assert entry.changes


def test_only_staff_disable_a_person(owner, member):
    with pytest.raises(ServiceError):
        accounts.user_disable(actor=owner, user=member)

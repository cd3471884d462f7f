"""Sessions rotate on login and end on a role change; an organisation's owner or admin
disables (and enables again) a person who belongs to it alone, in the page and the API."""
import pytest
from django.test import Client
from rest_framework.test import APIClient

from mailservice import services as mail
from mailservice.models import DevicePassword
from manager.accounts import services as accounts
from manager.accounts.models import Membership
from manager.accounts.models import WebSession as Session
from manager.audit.models import AuditEntry
from tests.factories import PASSWORD, add_member, make_user

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.email, password=PASSWORD)
    return client


def test_logging_in_gives_a_new_session_key():
    user = make_user("rotating@example.org")
    client = Client()
    session = client.session
    session["chosen"] = "before login"  # an anonymous session with something in it
    session.save()
    before = session.session_key
    client.cookies["sessionid"] = before
    response = client.post("/accounts/login/", {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302
    after = client.cookies["sessionid"].value
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()
    assert client.session["chosen"] == "before login"  # the data moved, the key did not


def test_a_role_change_ends_the_persons_sessions(owner, organisation, admin):
    old = logged_in(admin)
    assert old.get(f"/accounts/organisations/{organisation.pk}/").status_code == 200
    old_cookie = old.cookies["sessionid"].value
    membership = Membership.objects.get(user=admin, organisation=organisation)
    accounts.member_change_role(actor=owner, membership=membership, role="member")
    assert not Session.objects.filter(session_key=old_cookie).exists()
    # The old cookie carries neither the old privilege nor any login at all.
    again = old.get(f"/accounts/organisations/{organisation.pk}/")
    assert again.status_code == 302 and "/accounts/login/" in again["Location"]
    entry = AuditEntry.objects.get(verb="membership.role")
    assert entry.changes["sessions_ended"][1] == 1
    # The owner's own session is untouched.
    assert logged_in(owner).get(f"/accounts/organisations/{organisation.pk}/").status_code == 200


def test_removing_a_member_ends_their_sessions_but_leaving_does_not(owner, organisation, admin):
    removed = logged_in(admin)
    assert removed.get(f"/accounts/organisations/{organisation.pk}/").status_code == 200
    cookie = removed.cookies["sessionid"].value
    accounts.member_remove(actor=owner, membership=Membership.objects.get(user=admin))
    assert not Session.objects.filter(session_key=cookie).exists()
    again = removed.get(f"/accounts/organisations/{organisation.pk}/")
    assert again.status_code == 302 and "/accounts/login/" in again["Location"]

    leaver = make_user("leaver@example.org")
    add_member(organisation, leaver, "member")
    leaving = logged_in(leaver)
    cookie = leaving.cookies["sessionid"].value
    accounts.member_remove(actor=leaver, membership=Membership.objects.get(user=leaver))
    assert Session.objects.filter(session_key=cookie).exists()
    # The owner's session is untouched by either.
    assert logged_in(owner).get(f"/accounts/organisations/{organisation.pk}/").status_code == 200


def test_an_unchanged_role_ends_nothing(owner, organisation, admin):
    client = logged_in(admin)
    accounts.member_change_role(actor=owner, membership=Membership.objects.get(user=admin), role="admin")
    assert client.get(f"/accounts/organisations/{organisation.pk}/").status_code == 200


def test_changing_ones_own_role_in_the_page_rotates_the_session(owner, organisation):
    second = make_user("second-owner@example.org")
    add_member(organisation, second, "owner")
    client = logged_in(owner)
    old_cookie = client.cookies["sessionid"].value
    membership = Membership.objects.get(user=owner, organisation=organisation)
    page = client.post(f"/accounts/organisations/{organisation.pk}/",
                       {"operation": "change_role", "membership": membership.pk, "role": "admin"})
    assert page.status_code == 302
    assert client.cookies["sessionid"].value != old_cookie
    assert not Session.objects.filter(session_key=old_cookie).exists()
    assert client.get(f"/accounts/organisations/{organisation.pk}/").status_code == 200
    stale = Client()
    stale.cookies["sessionid"] = old_cookie
    assert stale.get(f"/accounts/organisations/{organisation.pk}/").status_code == 302


@pytest.fixture
def member_device(owner, member, alice):
    mail.access_grant(actor=owner, address=alice, user=member, permissions=["read", "send"])
    return mail.device_password_create(actor=owner, address=alice, name="phone", user=member)[0]


def test_an_admin_disables_and_enables_a_member_through_the_api(owner, admin, member, organisation,
                                                                 member_device):
    _token, raw = accounts.api_token_create(actor=member, name="ci")
    session = logged_in(member)
    membership = Membership.objects.get(user=member, organisation=organisation)
    api = APIClient()
    api.force_authenticate(admin)
    url = f"/api/v1/organisations/{organisation.pk}/members/{membership.pk}/"

    answer = api.post(url + "disable/")
    assert answer.status_code == 200, answer.content
    assert answer.json()["active"] is False and answer.json()["user"]["email"] == member.email
    assert session.get("/my-mail/").status_code == 302
    theirs = APIClient()
    theirs.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert theirs.get("/api/v1/organisations/").status_code == 401
    assert DevicePassword.objects.get(pk=member_device.pk).revoked is not None
    assert not Client().login(username=member.email, password=PASSWORD)
    entry = AuditEntry.objects.get(verb="user.disable")
    assert entry.organisation_id == organisation.pk and entry.actor_id == admin.pk

    assert api.get(url).json()["active"] is False
    enabled = api.post(url + "enable/")
    assert enabled.status_code == 200 and enabled.json()["active"] is True
    assert Client().login(username=member.email, password=PASSWORD)
    assert theirs.get("/api/v1/organisations/").status_code == 401  # revoked stays revoked
    assert AuditEntry.objects.filter(verb="user.enable", organisation=organisation).exists()


def test_disabling_is_refused_for_people_of_other_organisations_and_for_members(
        owner, admin, member, organisation, other_organisation, outsider):
    api = APIClient()
    membership = Membership.objects.get(user=member, organisation=organisation)
    url = f"/api/v1/organisations/{organisation.pk}/members/{membership.pk}/disable/"
    # A plain member: no right (and sees no one else's membership).
    api.force_authenticate(make_user("plain@example.org"))
    add_member(organisation, api.handler._force_user, "member")
    assert api.post(url).status_code == 404
    # Someone who also belongs elsewhere: removed from here, not disabled everywhere.
    add_member(other_organisation, member, "member")
    api.force_authenticate(admin)
    refused = api.post(url)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "member_elsewhere"
    # An admin cannot disable the owner; nobody disables themselves.
    owner_membership = Membership.objects.get(user=owner, organisation=organisation)
    assert api.post(f"/api/v1/organisations/{organisation.pk}/members/{owner_membership.pk}/disable/"
                    ).status_code == 403
    api.force_authenticate(owner)
    assert api.post(f"/api/v1/organisations/{organisation.pk}/members/{owner_membership.pk}/disable/"
                    ).json()["error"]["code"] == "self_disable"
    # Another organisation's member is not found through this one.
    theirs = Membership.objects.get(user=outsider, organisation=other_organisation)
    assert api.post(f"/api/v1/organisations/{organisation.pk}/members/{theirs.pk}/disable/"
                    ).status_code == 404
    member.refresh_from_db()
    outsider.refresh_from_db()
    assert member.is_active and outsider.is_active


def test_the_members_page_disables_and_enables(owner, member, organisation):
    client = logged_in(owner)
    membership = Membership.objects.get(user=member, organisation=organisation)
    page = f"/accounts/organisations/{organisation.pk}/"
    assert "Disable" in client.get(page).content.decode()
    assert client.post(page, {"operation": "disable_member", "membership": membership.pk}).status_code == 302
    member.refresh_from_db()
    assert not member.is_active
    body = client.get(page).content.decode()
    assert "disabled" in body and "Enable" in body
    client.post(page, {"operation": "enable_member", "membership": membership.pk})
    member.refresh_from_db()
    assert member.is_active

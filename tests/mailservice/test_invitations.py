"""Invitation links are bound to the invited e-mail (address and organisation invitations
alike), and adding people by e-mail never tells whether the e-mail has an account."""
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from mailservice import services
from mailservice.models import AddressAccess, Invitation
from manager.accounts import services as account_services
from manager.accounts.models import Membership, OrganisationInvitation, User
from manager.audit.models import AuditEntry
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

INVITEE = "marie@example.net"


def body(response) -> str:
    return response.content.decode()


@pytest.fixture
def invite(owner, alice):
    """invite(email=INVITEE, permissions=…) → the raw token of a new invitation to alice@."""
    def make(email=INVITEE, permissions=("read", "manage_rules")):
        _invitation, raw = services.invitation_create(actor=owner, address=alice,
                                                      permissions=list(permissions), email=email)
        return raw
    return make


# --- The accept page -------------------------------------------------------------------

def test_page_names_inviter_organisation_address_and_permissions(client, invite):
    text = body(client.get(f"/invitations/{invite()}/"))
    assert "Olive Owner" in text and "Acme Hosting" in text and "alice@domain.xyz" in text
    assert "Read mail" in text and "Manage sorting rules" in text and "Send mail" not in text


def test_the_invited_account_accepts(client, invite, alice, organisation):
    raw = invite()
    marie = make_user(INVITEE)
    client.force_login(marie)
    page = client.get(f"/invitations/{raw}/")
    assert page.status_code == 200 and 'value="accept"' in body(page)
    response = client.post(f"/invitations/{raw}/", {"operation": "accept"})
    assert response.status_code == 302 and response["Location"] == f"/mail/addresses/{alice.pk}/"
    assert AddressAccess.objects.get(address=alice, user=marie).permissions == ["manage_rules", "read"]
    assert Membership.objects.get(user=marie, organisation=organisation).role == "member"


def test_another_account_is_refused_with_a_way_to_log_out_and_continue(client, invite, member):
    raw = invite()
    url = f"/invitations/{raw}/"
    client.force_login(member)
    for response in (client.get(url), client.post(url, {"operation": "accept"})):
        assert response.status_code == 403
        text = body(response)
        assert "m…@example.net" in text and INVITEE not in text
        assert 'action="/accounts/logout/"' in text and f'name="next" value="{url}"' in text
        assert 'value="accept"' not in text
    assert not AddressAccess.objects.filter(user=member).exists()
    assert Invitation.objects.get().status == "pending"
    logged_out = client.post("/accounts/logout/", {"next": url})
    assert logged_out.status_code == 302 and logged_out["Location"] == url
    assert "Create your account" in body(client.get(url))


def test_anonymous_creates_the_invited_account_with_name_and_password_only(client, invite, alice,
                                                                           organisation):
    raw = invite()
    url = f"/invitations/{raw}/"
    page = body(client.get(url))
    assert "Create your account" in page and f'value="{INVITEE}" readonly' in page
    assert 'name="full_name"' in page and 'name="password"' in page
    assert 'name="email"' not in page and "organisation_name" not in page
    response = client.post(url, {"operation": "sign_up", "full_name": "Marie Curie",
                                 "password": "a-long-enough-pw", "email": "other@example.org"})
    assert response.status_code == 302 and response["Location"] == f"/mail/addresses/{alice.pk}/"
    marie = User.objects.get(email=INVITEE)
    assert marie.full_name == "Marie Curie" and not User.objects.filter(email="other@example.org").exists()
    assert [(m.organisation, m.role) for m in Membership.objects.filter(user=marie)] == [
        (organisation, "member")]
    assert AddressAccess.objects.filter(address=alice, user=marie).exists()
    assert client.get(response["Location"]).status_code == 200  # logged in, on her address
    assert client.get(url).status_code == 410


def test_sign_up_needs_a_name_and_a_strong_password(client, invite):
    url = f"/invitations/{invite()}/"
    assert client.post(url, {"operation": "sign_up", "full_name": "", "password": "a-long-enough-pw"}
                       ).status_code == 400
    weak = client.post(url, {"operation": "sign_up", "full_name": "Marie", "password": "short"})
    assert weak.status_code == 400 and not User.objects.filter(email=INVITEE).exists()


def test_an_existing_account_must_log_in_and_comes_back(client, invite, alice):
    raw = invite()
    url = f"/invitations/{raw}/"
    marie = make_user(INVITEE)
    page = body(client.get(url))
    assert f"/accounts/login/?next={url}" in page and "Create your account" not in page
    refused = client.post(url, {"operation": "sign_up", "full_name": "Mallory",
                                "password": "a-long-enough-pw"})
    assert refused.status_code == 409 and User.objects.get(email=INVITEE).full_name == ""
    login = client.post(f"/accounts/login/?next={url}", {"username": INVITEE, "password": PASSWORD,
                                                         "next": url})
    assert login.status_code == 302 and login["Location"] == url
    assert client.post(url, {"operation": "accept"}).status_code == 302
    assert AddressAccess.objects.filter(address=alice, user=marie).exists()


def test_anonymous_accept_goes_to_login_and_back(client, invite):
    url = f"/invitations/{invite()}/"
    response = client.post(url, {"operation": "accept"})
    assert response.status_code == 302 and response["Location"] == f"/accounts/login/?next={url}"


@pytest.mark.parametrize("state, status, text", [
    ("accepted", 410, "already been used"),
    ("revoked", 410, "was revoked"),
    ("expired", 410, "has expired"),
])
def test_used_revoked_and_expired_links(client, api, owner, invite, alice, state, status, text):
    raw = invite()
    invitation = Invitation.objects.get()
    if state == "accepted":
        services.invitation_accept(raw_token=raw, user=make_user(INVITEE))
    elif state == "revoked":
        services.invitation_revoke(actor=owner, invitation=invitation)
    else:
        Invitation.objects.update(expires=timezone.now() - timedelta(minutes=1))
    anonymous = client.get(f"/invitations/{raw}/")
    assert anonymous.status_code == status and text in body(anonymous)
    assert "alice@domain.xyz" not in body(anonymous)
    assert client.post(f"/invitations/{raw}/", {"operation": "sign_up", "full_name": "X",
                                                "password": "a-long-enough-pw"}).status_code == status
    person = User.objects.filter(email=INVITEE).first() or make_user(INVITEE)
    response = api(person).post(f"/api/v1/invitations/{raw}/accept/")
    assert response.status_code == 410 and response.json()["error"]["code"] == f"invitation_{state}"


def test_an_invitation_without_e_mail_is_for_nobody(client, api, invite, member):
    raw = invite()
    Invitation.objects.update(email="")  # a row from before invitations named their invitee
    page = client.get(f"/invitations/{raw}/")
    assert page.status_code == 410 and "does not name the person" in body(page)
    response = api(member).post(f"/api/v1/invitations/{raw}/accept/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "invitation_for_another_account"


# --- The API ---------------------------------------------------------------------------

def test_api_accept_is_bound_to_the_callers_e_mail(api, invite, alice, member):
    raw = invite()
    refused = api(member).post(f"/api/v1/invitations/{raw}/accept/")
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "invitation_for_another_account" and "m…@example.net" in error["message"]
    assert set(error) == {"code", "message", "fields"}
    assert Invitation.objects.get().status == "pending"
    accepted = api(make_user(INVITEE)).post(f"/api/v1/invitations/{raw}/accept/")
    assert accepted.status_code == 201 and accepted.json()["user"]["email"] == INVITEE


@pytest.mark.parametrize("payload", [{}, {"email": ""}])
def test_an_invitation_needs_the_invitees_e_mail(api, owner, alice, payload):
    response = api(owner).post(f"/api/v1/addresses/{alice.pk}/invitations/",
                               {"permissions": ["read"], **payload}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and "email" in error["fields"]
    assert not Invitation.objects.exists()


def test_the_invitation_form_needs_the_invitees_e_mail(client, owner, alice):
    client.force_login(owner)
    response = client.post(f"/mail/addresses/{alice.pk}/users/",
                           {"operation": "invite", "email": "", "permissions": ["read"]})
    assert response.status_code == 400 and not Invitation.objects.exists()
    assert 'id="invite_email"' in body(response) and "required" in body(response)


# --- No leak: adding by e-mail answers the same whether or not the account exists ------

def _neutral(response, email):
    """The answer with what must differ between two invitations (e-mail, id) taken out."""
    data = dict(response.json())
    assert data.pop("email") == email and isinstance(data.pop("invitation"), int)
    return response.status_code, data


def _scrub(message, email):
    return re.sub(r"/invitations/[^/\s]+/", "/invitations/TOKEN/", message.body.replace(email, "X"))


def test_adding_an_address_user_by_e_mail_does_not_tell_whether_the_account_exists(
        api, owner, alice, outsider):
    outsider.full_name = "Otto Outsider"
    outsider.save()
    client = api(owner)
    url = f"/api/v1/addresses/{alice.pk}/users/"
    known = client.post(url, {"email": outsider.email, "permissions": ["read"]}, format="json")
    unknown = client.post(url, {"email": "nobody@example.net", "permissions": ["read"]}, format="json")
    assert known.status_code == 202, known.content
    assert _neutral(known, outsider.email) == _neutral(unknown, "nobody@example.net") == (
        202, {"status": "invited"})
    assert "Otto" not in body(known)
    assert not AddressAccess.objects.filter(user=outsider).exists()  # invited, not added
    to_known, to_unknown = mail.outbox
    assert to_known.to == [outsider.email] and to_unknown.to == ["nobody@example.net"]
    assert _scrub(to_known, outsider.email) == _scrub(to_unknown, "nobody@example.net")
    entries = AuditEntry.objects.filter(object_type="mailservice.invitation", action="create")
    assert entries.count() == 2 and all("user" not in entry.changes for entry in entries)
    # The invited account accepts like any invitee.
    token = re.search(r"/invitations/([^/\s]+)/", to_known.body).group(1)
    assert api(outsider).post(f"/api/v1/invitations/{token}/accept/").status_code == 201
    assert AddressAccess.objects.get(user=outsider).permissions == ["read"]


def test_adding_a_member_by_e_mail_does_not_tell_whether_the_account_exists(
        api, admin, organisation, outsider):
    client = api(admin)
    url = f"/api/v1/organisations/{organisation.pk}/members/"
    known = client.post(url, {"email": outsider.email, "role": "admin"}, format="json")
    unknown = client.post(url, {"email": "nobody@example.net", "role": "admin"}, format="json")
    assert known.status_code == 202, known.content
    assert _neutral(known, outsider.email) == _neutral(unknown, "nobody@example.net") == (
        202, {"status": "invited"})
    assert not Membership.objects.filter(user=outsider, organisation=organisation).exists()
    assert _scrub(mail.outbox[0], outsider.email) == _scrub(mail.outbox[1], "nobody@example.net")
    entries = AuditEntry.objects.filter(verb="membership.invite")
    assert entries.count() == 2 and all("user" not in entry.changes for entry in entries)


def test_ui_member_invitation_answers_the_same_for_known_and_unknown_e_mails(
        client, admin, organisation, outsider):
    client.force_login(admin)
    url = f"/accounts/organisations/{organisation.pk}/"
    answers = []
    for email in (outsider.email, "nobody@example.net"):
        response = client.post(url, {"operation": "invite", "email": email, "role": "member"},
                               follow=True)
        answers.append((response.status_code,
                        re.findall(r'class="flash[^"]*"[^>]*>([^<]+)<', body(response))[0].replace(email, "X")))
    assert answers[0] == answers[1] == (200, "Invitation sent to X.")
    assert not Membership.objects.filter(user=outsider, organisation=organisation).exists()
    assert OrganisationInvitation.objects.filter(organisation=organisation).count() == 2


# --- Organisation invitations follow the same rules ----------------------------------

@pytest.fixture
def org_invite(admin, organisation):
    def make(email=INVITEE, role="admin"):
        account_services.organisation_invitation_create(actor=admin, organisation=organisation,
                                                        email=email, role=role)
        return re.search(r"/accounts/invitations/([^/\s]+)/", mail.outbox[-1].body).group(1)
    return make


def test_organisation_invitation_page_and_sign_up(client, org_invite, organisation):
    raw = org_invite()
    url = f"/accounts/invitations/{raw}/"
    page = body(client.get(url))
    assert "Acme Hosting" in page and "Administrator" in page and "admin@example.org" in page
    response = client.post(url, {"operation": "sign_up", "full_name": "Marie Curie",
                                 "password": "a-long-enough-pw"})
    assert response.status_code == 302
    marie = User.objects.get(email=INVITEE)
    assert [(m.organisation, m.role) for m in Membership.objects.filter(user=marie)] == [
        (organisation, "admin")]
    assert client.get(url).status_code == 410


def test_organisation_invitation_refuses_another_account(client, api, org_invite, member, outsider):
    raw = org_invite()
    client.force_login(outsider)
    response = client.post(f"/accounts/invitations/{raw}/", {"operation": "accept"})
    assert response.status_code == 403 and "m…@example.net" in body(response)
    refused = api(outsider).post(f"/api/v1/organisation-invitations/{raw}/accept/")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "invitation_for_another_account"
    assert OrganisationInvitation.objects.get().status == "pending"


def test_organisation_invitation_accepted_by_the_invited_account(api, org_invite, organisation):
    raw = org_invite()
    marie = make_user(INVITEE)
    response = api(marie).post(f"/api/v1/organisation-invitations/{raw}/accept/")
    assert response.status_code == 201 and response.json()["role"] == "admin"
    assert Membership.objects.get(user=marie, organisation=organisation).role == "admin"
    again = api(marie).post(f"/api/v1/organisation-invitations/{raw}/accept/")
    assert again.status_code == 410 and again.json()["error"]["code"] == "invitation_accepted"


def test_members_are_not_invited_again(api, admin, organisation, member):
    response = api(admin).post(f"/api/v1/organisations/{organisation.pk}/members/",
                               {"email": member.email}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "already_member"


def test_accepting_raises_a_member_to_the_invited_role_and_never_lowers_one(org_invite, invite,
                                                                            organisation, admin):
    org_raw = org_invite(role="admin")
    marie = make_user(INVITEE)
    services.invitation_accept(raw_token=invite(), user=marie)  # a member through her address
    assert Membership.objects.get(user=marie).role == "member"
    account_services.organisation_invitation_accept(raw_token=org_raw, user=marie)
    assert Membership.objects.get(user=marie).role == "admin"
    services.invitation_accept(raw_token=invite(email=admin.email), user=admin)
    assert Membership.objects.get(user=admin).role == "admin"


def test_the_invitation_page_speaks_french(client, invite, member):
    raw = invite()
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    text = body(client.get(f"/invitations/{raw}/"))
    assert "Créez votre compte" in text and "Invité par" in text and "Create your account" not in text
    client.force_login(member)
    text = body(client.get(f"/invitations/{raw}/"))
    assert "Se déconnecter et continuer" in text and "Cette invitation est destinée à un autre compte" in text

"""The browser shell: login, sign-up, organisation pages, language switch, audit page."""
import re

import pytest
from django.core import mail

from manager.accounts.models import Membership, Organisation, OrganisationInvitation, User
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def login(client, user):
    client.force_login(user)
    return client


def test_pages_require_login(client):
    response = client.get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_login_with_email(client, owner, organisation):
    response = client.post("/accounts/login/", {"username": "owner@example.org", "password": PASSWORD})
    assert response.status_code == 302
    assert "Acme Hosting" in client.get("/").content.decode()


def test_wrong_password_shows_an_error(client, owner):
    response = client.post("/accounts/login/", {"username": "owner@example.org", "password": "nope"})
    assert response.status_code == 200
    assert "correct" in response.content.decode()


def test_signup_creates_own_organisation_as_owner(client):
    response = client.post("/accounts/signup/", {"email": "New@Example.org", "password": "a-long-enough-pw",
                                                  "full_name": "Nina", "organisation_name": "Nina Co"})
    assert response.status_code == 302
    user = User.objects.get(email="new@example.org")
    assert Membership.objects.get(user=user).organisation.name == "Nina Co"
    assert Membership.objects.get(user=user).role == "owner"


def test_signup_refuses_weak_password_and_duplicate_email(client, owner):
    response = client.post("/accounts/signup/", {"email": "x@example.org", "password": "short"})
    assert response.status_code == 400 and not User.objects.filter(email="x@example.org").exists()
    response = client.post("/accounts/signup/", {"email": "owner@example.org", "password": "a-long-enough-pw"})
    assert response.status_code == 400 and "Already registered" in response.content.decode()


def test_password_reset_sends_an_email(client, owner):
    response = client.post("/accounts/password-reset/", {"email": "owner@example.org"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and "/accounts/password-reset/" in mail.outbox[0].body


def test_shell_renders_in_english_and_french(client, owner, organisation):
    login(client, owner)
    english = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en">' in english and "Mail services" in english and "Audit log" in english
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    french = client.get("/").content.decode()
    assert '<html lang="fr">' in french
    assert "Services mail" in french and "Journal d’audit" in french
    assert "Mail services" not in french


def test_organisation_switcher(client, owner, organisation):
    second = Organisation.objects.create(name="Second")
    Membership.objects.create(organisation=second, user=owner, role="admin")
    login(client, owner)
    client.post("/accounts/organisations/switch/", {"organisation": second.pk})
    page = client.get("/").content.decode()
    assert re.search(rf'<option value="{second.pk}" selected>Second', page)


def test_switching_to_another_organisation_is_404(client, owner, organisation, other_organisation):
    login(client, owner)
    assert client.post("/accounts/organisations/switch/", {"organisation": other_organisation.pk}).status_code == 404


def test_other_organisation_page_is_404(client, owner, organisation, other_organisation):
    login(client, owner)
    assert client.get(f"/accounts/organisations/{other_organisation.pk}/").status_code == 404


def test_admin_invites_a_member_in_ui_and_removes_them(client, admin, organisation):
    person = make_user("friend@example.org")
    login(client, admin)
    url = f"/accounts/organisations/{organisation.pk}/"
    response = client.post(url, {"operation": "invite", "email": "friend@example.org", "role": "member"})
    assert response.status_code == 302
    assert not Membership.objects.filter(user=person).exists()  # invited, not added
    listed = client.get(url).content.decode()
    assert "Invitation sent to friend@example.org." in listed and "pending" in listed
    link = re.search(r"/accounts/invitations/[^/\s]+/", mail.outbox[0].body).group(0)
    login(client, person)
    assert client.post(link, {"operation": "accept"}).status_code == 302
    membership = Membership.objects.get(user=person)
    login(client, admin)
    client.post(url, {"operation": "remove_member", "membership": membership.pk})
    assert not Membership.objects.filter(user=person).exists()


def test_admin_resends_and_revokes_a_member_invitation(client, admin, organisation):
    login(client, admin)
    url = f"/accounts/organisations/{organisation.pk}/"
    client.post(url, {"operation": "invite", "email": "friend@example.org", "role": "admin"})
    invitation = OrganisationInvitation.objects.get()
    client.post(url, {"operation": "resend_invitation", "invitation": invitation.pk})
    first, second = (re.search(r"/accounts/invitations/[^/\s]+/", m.body).group(0) for m in mail.outbox)
    assert first != second and client.get(first).status_code == 404
    client.post(url, {"operation": "revoke_invitation", "invitation": invitation.pk})
    assert client.get(second).status_code == 410
    assert "revoked" in client.get(url).content.decode()


def test_member_cannot_invite_members_in_ui(client, member, organisation):
    login(client, member)
    response = client.post(f"/accounts/organisations/{organisation.pk}/",
                           {"operation": "invite", "email": "friend@example.org", "role": "member"})
    assert response.status_code == 403
    assert not OrganisationInvitation.objects.exists() and not mail.outbox
    assert "Invite a person" not in client.get(f"/accounts/organisations/{organisation.pk}/").content.decode()


def test_last_owner_removal_shows_a_message_and_keeps_the_owner(client, owner, organisation):
    login(client, owner)
    membership = Membership.objects.get(user=owner)
    response = client.post(f"/accounts/organisations/{organisation.pk}/",
                           {"operation": "remove_member", "membership": membership.pk})
    assert response.status_code == 409
    assert "last owner" in response.content.decode()
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_destructive_buttons_ask_for_confirmation(client, admin, organisation, member):
    login(client, admin)
    page = client.get(f"/accounts/organisations/{organisation.pk}/").content.decode()
    assert "data-confirm=" in page


def test_audit_log_page_filters_and_htmx_partial(client, owner, organisation):
    login(client, owner)
    page = client.get("/audit-log/?action=create").content.decode()
    assert "Acme Hosting" in page and "<html" in page
    partial = client.get("/audit-log/?action=create", HTTP_HX_REQUEST="true")
    assert "<html" not in partial.content.decode() and "Acme Hosting" in partial.content.decode()
    assert "HX-Request" in partial["Vary"]


def test_audit_log_page_hides_other_organisations(client, owner, organisation, other_organisation):
    login(client, owner)
    assert "Other Org" not in client.get("/audit-log/").content.decode()


def test_api_token_is_shown_once_in_ui(client, owner):
    login(client, owner)
    response = client.post("/accounts/tokens/", {"name": "laptop"})
    token = re.search(r'id="new-token">(mm_[^<]+)<', response.content.decode()).group(1)
    assert token not in client.get("/accounts/tokens/").content.decode()

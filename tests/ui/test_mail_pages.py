"""Mail pages: services, addresses (list, bulk, catchall), users & invitations, device
passwords, and the public invitation page."""
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import resolve
from django.utils import timezone

from mailservice import services
from mailservice.models import (
    Address,
    AddressAccess,
    DevicePassword,
    Invitation,
    MailService,
    Permission,
)
from tests.factories import PASSWORD, add_member, make_address, make_mail_service, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def service(owner, organisation):
    return make_mail_service(owner, organisation, "acme.test", capacity=10)


@pytest.fixture
def address(owner, service):
    return make_address(owner, service, "info", display_name="Info desk")


def page(response) -> str:
    return response.content.decode()


def refusal(user, url) -> str:
    """The message of a page's 403 (what the product's 403 page shows)."""
    request = RequestFactory().get(url)
    request.user = user
    match = resolve(url)
    with pytest.raises(PermissionDenied) as refused:
        match.func(request, *match.args, **match.kwargs)
    return str(refused.value)


# --- Mail services ---------------------------------------------------------------------

def test_service_list_and_detail_render_for_owner(client, owner, service, address):
    client.force_login(owner)
    listing = page(client.get("/mail/"))
    assert "acme.test" in listing and "Service Mail Premium" in listing
    assert "1 / 10" in listing and 'class="badge pending"' in listing
    detail = client.get(f"/mail/services/{service.pk}/")
    assert detail.status_code == 200
    body = page(detail)
    assert "Change plan" in body and "Advanced (Sieve) mode" in body and "data-confirm=" in body
    # Its domain's records are one click away.
    assert f'href="/dns/domains/{service.domain_ref_id}/" id="domain-records"' in body
    assert client.get(f"/dns/domains/{service.domain_ref_id}/").status_code == 200


def test_owner_creates_a_service_and_changes_its_plan(client, owner, organisation):
    client.force_login(owner)
    response = client.post("/mail/services/new/", {"domain": "New.Test", "plan": "premium",
                                                    "capacity": "5"})
    service = MailService.objects.get(domain="new.test")
    assert response.status_code == 302 and response["Location"] == f"/mail/services/{service.pk}/"
    assert service.organisation == organisation
    client.post(f"/mail/services/{service.pk}/", {"operation": "change_plan", "plan": "premium",
                                                  "capacity": "10"})
    service.refresh_from_db()
    assert service.capacity == 10


def test_plan_change_refusal_names_the_plan(client, owner, service, address):
    services.address_create(actor=owner, service=service, local_part="sales")
    client.force_login(owner)
    response = client.post(f"/mail/services/{service.pk}/", {"operation": "change_plan",
                                                              "plan": "starter"})
    assert response.status_code == 400
    assert "Service Mail Starter plan allows 1" in page(response)
    assert MailService.objects.get(pk=service.pk).plan == "premium"


def test_owner_deletes_a_service(client, owner, service):
    client.force_login(owner)
    response = client.post(f"/mail/services/{service.pk}/", {"operation": "delete"})
    assert response.status_code == 302 and not MailService.objects.filter(pk=service.pk).exists()


def test_outsider_gets_404_on_another_organisations_pages(client, outsider, other_organisation,
                                                          service, address):
    client.force_login(outsider)
    for url in (f"/mail/services/{service.pk}/", f"/mail/addresses/{address.pk}/",
                f"/mail/addresses/{address.pk}/users/", f"/mail/addresses/{address.pk}/devices/"):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"operation": "delete"}).status_code == 404, url
    assert "acme.test" not in page(client.get("/mail/"))
    assert "info@acme.test" not in page(client.get("/mail/addresses/"))
    assert Address.objects.filter(pk=address.pk).exists()


def test_member_without_a_grant_sees_no_mail_page_and_changes_nothing(client, member, service,
                                                                      address):
    """A member is a person who uses addresses: the organisation's mail is not theirs to see."""
    client.force_login(member)
    for url in ("/mail/", f"/mail/services/{service.pk}/", "/mail/services/new/",
                "/mail/addresses/new/", f"/mail/addresses/{address.pk}/",
                f"/mail/services/{service.pk}/rule-templates/"):
        assert client.get(url).status_code == 404, url
    posts = [
        ("/mail/services/new/", {"domain": "x.test", "plan": "premium"}),
        (f"/mail/services/{service.pk}/", {"operation": "change_plan", "plan": "premium",
                                           "capacity": "20"}),
        (f"/mail/services/{service.pk}/", {"operation": "delete"}),
        ("/mail/addresses/new/", {"local_part": "new", "mail_service": service.pk}),
        (f"/mail/addresses/{address.pk}/", {"operation": "update", "display_name": "x",
                                            "quota_mb": "100", "enabled": "on"}),
        (f"/mail/addresses/{address.pk}/", {"operation": "delete"}),
        (f"/mail/addresses/{address.pk}/users/", {"operation": "invite", "permissions": ["read"]}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 404, (url, data)
    # The bulk form only offers the addresses the person sees: none.
    assert client.post("/mail/addresses/", {"operation": "disable",
                                            "selected": [address.pk]}).status_code == 400
    address.refresh_from_db()
    assert address.enabled and address.display_name == "Info desk"
    assert MailService.objects.get(pk=service.pk).capacity == 10
    assert not Invitation.objects.exists()


def test_a_user_of_the_address_sees_it_but_gets_403_on_administrators_changes(
        client, owner, member, service, address):
    services.access_grant(actor=owner, address=address, user=member, permissions=["read"])
    client.force_login(member)
    body = page(client.get(f"/mail/addresses/{address.pk}/"))
    assert "Read mail" in body and "Save settings" not in body and "Add alias" not in body
    posts = [
        {"operation": "update", "display_name": "x", "quota_mb": "100", "enabled": "on"},
        {"operation": "delete"},
        {"operation": "alias_add", "local_part": "sneaky"},
        {"operation": "autoreply", "autoreply_enabled": "on", "autoreply_subject": "x"},
    ]
    for data in posts:
        assert client.post(f"/mail/addresses/{address.pk}/", data).status_code == 403, data
    address.refresh_from_db()
    assert address.enabled and address.display_name == "Info desk" and not address.autoreply_enabled


# --- Addresses -------------------------------------------------------------------------

def test_create_an_address_from_the_form(client, owner, service):
    client.force_login(owner)
    form = page(client.get("/mail/addresses/new/"))
    assert "acme.test" in form and 'for="id_local_part"' in form
    response = client.post("/mail/addresses/new/", {"local_part": "Sales", "mail_service": service.pk,
                                                     "display_name": "Sales team", "quota_mb": "2048"})
    address = Address.objects.get(mail_service=service, local_part="sales")
    assert response.status_code == 302 and response["Location"] == f"/mail/addresses/{address.pk}/"
    assert address.display_name == "Sales team" and address.quota_mb == 2048


def test_service_choice_goes_through_the_gate(client, owner, service, foreign_address):
    client.force_login(owner)
    assert "other.example" not in page(client.get("/mail/addresses/new/"))
    response = client.post("/mail/addresses/new/", {"local_part": "x",
                                                     "mail_service": foreign_address.mail_service_id})
    assert response.status_code == 400
    assert not Address.objects.filter(local_part="x").exists()


def test_starter_plan_refuses_a_second_address(client, owner, starter):
    services.address_create(actor=owner, service=starter, local_part="me")
    client.force_login(owner)
    response = client.post("/mail/addresses/new/", {"local_part": "two", "mail_service": starter.pk})
    assert response.status_code == 403
    assert "Service Mail Starter plan allows 1 address" in page(response)
    assert starter.addresses.count() == 1


def test_starter_plan_refuses_a_catchall(client, owner, starter):
    client.force_login(owner)
    response = client.post("/mail/addresses/new/", {"local_part": "catchall", "mail_service": starter.pk,
                                                     "catchall_understood": "on"})
    assert response.status_code == 403
    assert "The Service Mail Starter plan does not include a catchall address." in page(response)
    assert not starter.addresses.exists()


def test_catchall_warning_is_shown_before_creating(client, owner, service):
    client.force_login(owner)
    partial = client.get("/mail/addresses/new/", {"local_part": "catchall", "mail_service": service.pk},
                         HTTP_HX_REQUEST="true")
    text = page(partial)
    assert "<html" not in text and "flooded with spam" in text
    assert "lost in the mass" in text and "brute-force" in text and "keep their own mail" in text
    assert "flooded with spam" not in page(client.get("/mail/addresses/new/", {"local_part": "info"},
                                                      HTTP_HX_REQUEST="true"))
    # Without the acknowledgement the form comes back with the warning, nothing is created.
    refused = client.post("/mail/addresses/new/", {"local_part": "catchall", "mail_service": service.pk})
    assert refused.status_code == 400 and "flooded with spam" in page(refused)
    assert not service.addresses.filter(local_part="catchall").exists()
    created = client.post("/mail/addresses/new/", {"local_part": "catchall", "mail_service": service.pk,
                                                    "catchall_understood": "on"})
    catchall = service.addresses.get(local_part="catchall")
    assert created.status_code == 302
    assert "flooded with spam" in page(client.get(f"/mail/addresses/{catchall.pk}/"))
    assert "flooded with spam" not in page(client.get("/mail/addresses/new/"))


def test_catchall_warning_names_the_plan_that_lacks_it(client, owner, starter):
    client.force_login(owner)
    partial = client.get("/mail/addresses/new/", {"local_part": "catchall", "mail_service": starter.pk},
                         HTTP_HX_REQUEST="true")
    assert "The Service Mail Starter plan does not include a catchall address." in page(partial)


def _many(owner, service, names):
    return [services.address_create(actor=owner, service=service, local_part=n) for n in names]


def test_bulk_disable_and_delete(client, owner, service):
    first, second, third = _many(owner, service, ["a1", "a2", "a3"])
    client.force_login(owner)
    listing = page(client.get("/mail/addresses/"))
    assert "data-select-all" in listing and 'name="selected"' in listing and "data-confirm=" in listing
    response = client.post("/mail/addresses/?q=a", {"operation": "disable",
                                                    "selected": [first.pk, second.pk]})
    assert response.status_code == 302 and response["Location"] == "/mail/addresses/?q=a"
    assert list(Address.objects.filter(enabled=False).order_by("local_part")
                .values_list("local_part", flat=True)) == ["a1", "a2"]
    client.post("/mail/addresses/", {"operation": "enable", "selected": [first.pk]})
    assert Address.objects.get(pk=first.pk).enabled
    client.post("/mail/addresses/", {"operation": "delete", "selected": [second.pk, third.pk]})
    assert list(Address.objects.values_list("local_part", flat=True)) == ["a1"]


def test_bulk_action_cannot_reach_another_organisation(client, owner, service, foreign_address):
    client.force_login(owner)
    response = client.post("/mail/addresses/", {"operation": "delete", "selected": [foreign_address.pk]})
    assert response.status_code == 400 and Address.objects.filter(pk=foreign_address.pk).exists()


def test_search_and_filters(client, owner, service, starter):
    _many(owner, service, ["alice", "bob"])
    services.address_update(actor=owner, address=Address.objects.get(local_part="bob"), enabled=False)
    services.address_create(actor=owner, service=starter, local_part="carol", display_name="Alice Doe")
    client.force_login(owner)

    def emails(params, **headers):
        return set(re.findall(r">([a-z]+@[a-z.]+)</a>", page(client.get("/mail/addresses/", params,
                                                                          **headers))))

    assert emails({}) == {"alice@acme.test", "bob@acme.test", "carol@starter.example"}
    assert emails({"q": "alice"}) == {"alice@acme.test", "carol@starter.example"}  # display name too
    assert emails({"mail_service": service.pk}) == {"alice@acme.test", "bob@acme.test"}
    assert emails({"enabled": "false"}) == {"bob@acme.test"}
    assert emails({"enabled": "true", "mail_service": service.pk}) == {"alice@acme.test"}
    partial = client.get("/mail/addresses/", {"q": "bob"}, HTTP_HX_REQUEST="true")
    assert "<html" not in page(partial) and "bob@acme.test" in page(partial)
    assert "HX-Request" in partial["Vary"]


def test_list_is_paginated_by_50(client, owner, organisation):
    big = services.mail_service_create(actor=owner, organisation=organisation, domain="big.test",
                                       plan="premium", capacity=60)
    _many(owner, big, [f"user{i:02d}" for i in range(55)])
    client.force_login(owner)
    first = page(client.get("/mail/addresses/"))
    assert first.count('name="selected"') == 50 and "Page 1 of 2" in first
    second = page(client.get("/mail/addresses/", {"page": 2}))
    assert second.count('name="selected"') == 5 and "user54@big.test" in second


def test_list_query_count_does_not_grow_with_rows(client, owner, organisation,
                                                  django_assert_max_num_queries):
    big = services.mail_service_create(actor=owner, organisation=organisation, domain="big.test",
                                       plan="premium", capacity=200)
    other = services.mail_service_create(actor=owner, organisation=organisation, domain="more.test",
                                         plan="premium", capacity=200)
    _many(owner, big, ["a0", "a1"])
    client.force_login(owner)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/mail/addresses/").status_code == 200
    _many(owner, big, [f"b{i:03d}" for i in range(100)])
    _many(owner, other, [f"c{i:03d}" for i in range(98)])
    assert Address.objects.count() == 200
    with django_assert_max_num_queries(len(few)):
        response = client.get("/mail/addresses/")
    assert page(response).count('name="selected"') == 50
    with django_assert_max_num_queries(len(few)):
        client.get("/mail/addresses/", {"page": 4, "q": "c"}, HTTP_HX_REQUEST="true")


def test_address_detail_settings_aliases_redirections(client, owner, address):
    client.force_login(owner)
    url = f"/mail/addresses/{address.pk}/"
    body = page(client.get(url))
    assert f'/mail/addresses/{address.pk}/setup/' in body and f'/mail/addresses/{address.pk}/users/' in body
    assert client.post(url, {"operation": "update", "display_name": "Front desk", "quota_mb": "512",
                             "enabled": ""}).status_code == 302
    address.refresh_from_db()
    assert (address.display_name, address.quota_mb, address.enabled) == ("Front desk", 512, False)
    client.post(url, {"operation": "autoreply", "autoreply_enabled": "on",
                      "autoreply_subject": "Away", "autoreply_body": "Back Monday"})
    address.refresh_from_db()
    assert address.autoreply_enabled and address.autoreply_subject == "Away"
    client.post(url, {"operation": "alias_add", "local_part": "hello"})
    alias = address.aliases.get()
    assert "hello@acme.test" in page(client.get(url))
    client.post(url, {"operation": "redirection_add", "target": "boss@example.com", "keep_copy": "on"})
    redirection = address.redirections.get()
    assert redirection.keep_copy
    loop = client.post(url, {"operation": "redirection_add", "target": "info@acme.test"})
    assert loop.status_code == 400 and "loop" in page(loop)
    client.post(url, {"operation": "alias_delete", "alias": alias.pk})
    client.post(url, {"operation": "redirection_delete", "redirection": redirection.pk})
    assert not address.aliases.exists() and not address.redirections.exists()
    response = client.post(url, {"operation": "delete"})
    assert response.status_code == 302 and not Address.objects.filter(pk=address.pk).exists()


# --- Users of an address ---------------------------------------------------------------

def test_users_page_adds_a_member_found_by_search(client, owner, member, outsider, other_organisation,
                                                  address):
    colleague = make_user("colleague@example.org", full_name="Colin League")
    add_member(address.mail_service.organisation, colleague)
    client.force_login(owner)
    url = f"/mail/addresses/{address.pk}/users/"
    results = client.get(url, {"member_search": "example"}, HTTP_HX_REQUEST="true")
    text = page(results)
    assert "<html" not in text and "member@example.org" in text and "colleague@example.org" in text
    assert "outsider@example.net" not in page(client.get(url, {"member_search": "outsider"},
                                                         HTTP_HX_REQUEST="true"))
    assert "colleague@example.org" in page(client.get(url, {"member_search": "Colin"},
                                                     HTTP_HX_REQUEST="true"))
    response = client.post(url, {"operation": "grant", "user": colleague.pk,
                                 "permissions": ["read", "manage_rules"]})
    assert response.status_code == 302
    assert AddressAccess.objects.get(address=address, user=colleague).permissions == ["manage_rules", "read"]
    # Someone outside the organisation can't be picked, even by id.
    assert client.post(url, {"operation": "grant", "user": outsider.pk,
                             "permissions": ["read"]}).status_code == 400
    assert not AddressAccess.objects.filter(user=outsider).exists()


def test_permissions_are_edited_on_the_users_page(client, owner, member, address):
    access = services.access_grant(actor=owner, address=address, user=member, permissions=["read"])
    client.force_login(owner)
    url = f"/mail/addresses/{address.pk}/users/"
    assert f'name="access-{access.pk}-permissions"' in page(client.get(url))
    client.post(url, {"operation": "update", "access": access.pk,
                      f"access-{access.pk}-permissions": ["read", "send"]})
    access.refresh_from_db()
    assert access.permissions == ["read", "send"]


def link_on(response) -> str:
    return re.search(r'class="secret" id="invitation-link">([^<]+)<', page(response)).group(1)


def test_invitation_link_is_shown_once_after_the_redirect_and_listed(client, owner, address):
    client.force_login(owner)
    url = f"/mail/addresses/{address.pk}/users/"
    response = client.post(url, {"operation": "invite", "email": "friend@home.test",
                                 "permissions": ["read", "send"], "send": "on"})
    assert response.status_code == 302 and response["Location"] == url
    shown = client.get(url)
    link = link_on(shown)
    assert "/invitations/" in link and 'data-copy-target="#invitation-link"' in page(shown)
    assert "Invitation sent to friend@home.test." in page(shown)
    assert len(mail.outbox) == 1 and link in mail.outbox[0].body
    later = page(client.get(url))  # a reload neither shows the link again nor invites again
    assert link not in later and "friend@home.test" in later and "pending" in later
    invitation = Invitation.objects.get()
    assert invitation.permissions == ["read", "send"] and invitation.email == "friend@home.test"
    client.post(url, {"operation": "revoke", "invitation": invitation.pk})
    invitation.refresh_from_db()
    assert invitation.status == "revoked" and "revoked" in page(client.get(url))


def test_the_member_search_does_not_use_up_the_link(client, owner, address):
    client.force_login(owner)
    url = f"/mail/addresses/{address.pk}/users/"
    client.post(url, {"operation": "invite", "email": "friend@home.test", "permissions": ["read"]})
    client.get(url, {"member_search": "x"}, HTTP_HX_REQUEST="true")
    assert "/invitations/" in link_on(client.get(url))


def test_resend_issues_a_new_link(client, owner, address):
    invitation, raw = services.invitation_create(actor=owner, address=address, permissions=["read"],
                                                 email="friend@home.test")
    client.force_login(owner)
    url = f"/mail/addresses/{address.pk}/users/"
    assert client.post(url, {"operation": "resend", "invitation": invitation.pk}).status_code == 302
    shown = client.get(url)
    new_link = link_on(shown)
    assert "The previous link no longer works." in page(shown)
    assert raw not in new_link and len(mail.outbox) == 1 and new_link in mail.outbox[0].body
    assert client.get(f"/invitations/{raw}/").status_code == 404


def test_disconnect_all_devices_versus_remove_all_access(client, owner, admin, member, address):
    member_access = services.access_grant(actor=owner, address=address, user=member,
                                          permissions=["read", "send"])
    services.access_grant(actor=owner, address=address, user=admin, permissions=["read"])
    for name in ("phone", "laptop"):
        services.device_password_create(actor=member, address=address, name=name)
    admin_device, _raw = services.device_password_create(actor=admin, address=address, name="desk")
    client.force_login(owner)
    url = f"/mail/addresses/{address.pk}/users/"
    body = page(client.get(url))
    assert "Disconnect all devices" in body and "Remove all access" in body
    assert "They keep access in the web interface" in body and "They lose the address entirely" in body

    client.post(url, {"operation": "disconnect", "access": member_access.pk})
    assert AddressAccess.objects.filter(pk=member_access.pk).exists()
    assert not DevicePassword.objects.filter(access=member_access, revoked__isnull=True).exists()
    assert DevicePassword.objects.filter(access=member_access).count() == 2
    assert DevicePassword.objects.get(pk=admin_device.pk).revoked is None

    client.post(url, {"operation": "remove", "access": member_access.pk})
    assert not AddressAccess.objects.filter(pk=member_access.pk).exists()
    assert not DevicePassword.objects.filter(access_id=member_access.pk).exists()
    assert AddressAccess.objects.filter(address=address, user=admin).exists()
    assert DevicePassword.objects.get(pk=admin_device.pk).revoked is None


@pytest.mark.parametrize("permission", [p for p, _label in Permission.choices])
def test_only_managers_see_the_users_page(client, member, address, owner, permission):
    services.access_grant(actor=owner, address=address, user=member, permissions=[permission])
    services.access_grant(actor=owner, address=address, user=owner, permissions=["read"])
    client.force_login(member)
    url = f"/mail/addresses/{address.pk}/users/"
    for response in (client.get(url), client.get(url, {"member_search": "o"}, HTTP_HX_REQUEST="true")):
        assert response.status_code == 403
        assert "owner@example.org" not in page(response) and "Remove all access" not in page(response)
    assert refusal(member, url) == "Only administrators see the users of an address."
    access = AddressAccess.objects.get(user=member)
    assert client.post(url, {"operation": "remove", "access": access.pk}).status_code == 403
    assert AddressAccess.objects.filter(pk=access.pk).exists()


# --- Device passwords ------------------------------------------------------------------

def test_device_password_is_shown_once_after_the_redirect(client, owner, member, address):
    services.access_grant(actor=owner, address=address, user=member, permissions=["read", "send"])
    services.device_password_create(actor=owner, address=address, name="owner laptop",
                                    user=member)
    client.force_login(member)
    url = f"/mail/addresses/{address.pk}/devices/"
    response = client.post(url, {"operation": "create", "name": "My phone", "device_type": "phone"})
    assert response.status_code == 302 and response["Location"] == url
    shown = page(client.get(url))
    password = re.search(r'id="new-password">([^<]+)<', shown).group(1)
    assert 'data-copy-target="#new-password"' in shown and "My phone" in shown
    device = DevicePassword.objects.get(name="My phone")
    assert password not in device.token_sha256 and len(password) > 20
    later = page(client.get(url))  # a reload: no second password, and this one is gone
    assert "My phone" in later and password not in later
    assert DevicePassword.objects.filter(name="My phone").count() == 1
    client.post(url, {"operation": "revoke", "device": device.pk})
    device.refresh_from_db()
    assert device.revoked is not None
    assert DevicePassword.objects.get(name="owner laptop").revoked is None


def test_htmx_creation_answers_with_a_location(client, owner, member, address):
    services.access_grant(actor=owner, address=address, user=member, permissions=["read"])
    client.force_login(member)
    url = f"/mail/addresses/{address.pk}/devices/"
    response = client.post(url, {"operation": "create", "name": "Tablet", "device_type": "tablet"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 204 and response["HX-Location"] == url
    assert 'id="new-password"' in page(client.get(url))


@pytest.mark.parametrize("permission", [p for p, _label in Permission.choices])
def test_device_passwords_need_read_or_send(client, owner, member, address, permission):
    services.access_grant(actor=owner, address=address, user=member, permissions=[permission])
    client.force_login(member)
    url = f"/mail/addresses/{address.pk}/devices/"
    listing = client.get(url)
    created = client.post(url, {"operation": "create", "name": "Phone", "device_type": "phone"})
    if permission in ("read", "send"):
        assert listing.status_code == 200 and created.status_code == 302
        assert 'name="user"' not in page(listing)  # for themselves only
    else:
        assert listing.status_code == created.status_code == 403
        assert refusal(member, url) == ("You need the “Read mail” or “Send mail” permission on "
                                        "this address.")
        assert not DevicePassword.objects.exists()


def test_administrator_who_uses_the_address_gets_myself(client, owner, admin, member, address):
    services.access_grant(actor=owner, address=address, user=admin, permissions=["read"])
    services.access_grant(actor=owner, address=address, user=member, permissions=["read"])
    client.force_login(admin)
    url = f"/mail/addresses/{address.pk}/devices/"
    form = page(client.get(url))
    assert '<option value="" selected>Myself</option>' in form
    assert f'<option value="{member.pk}">member@example.org</option>' in form
    assert f'<option value="{admin.pk}">' not in form and 'name="my_permissions"' not in form
    client.post(url, {"operation": "create", "name": "For member", "device_type": "phone",
                      "user": member.pk})
    assert DevicePassword.objects.get(name="For member").access.user == member


def test_administrator_not_a_user_adds_themselves_and_gets_a_password_in_one_step(
        client, owner, admin, address):
    client.force_login(admin)
    url = f"/mail/addresses/{address.pk}/devices/"
    form = page(client.get(url))
    assert "Myself (add me as a user of this address)" in form and 'name="my_permissions"' in form
    response = client.post(url, {"operation": "create", "name": "Desk", "device_type": "computer",
                                 "my_permissions": ["read", "manage_rules"]})
    assert response.status_code == 302
    access = AddressAccess.objects.get(address=address, user=admin)
    assert access.permissions == ["manage_rules", "read"]
    assert DevicePassword.objects.get(access=access).name == "Desk"
    shown = page(client.get(url))
    assert 'id="new-password"' in shown and "You now use info@acme.test." in shown
    assert "Myself (add me" not in page(client.get(url))  # now a user: plain “Myself”


def test_administrator_adding_themselves_without_read_or_send_gets_nothing(client, admin, address):
    client.force_login(admin)
    response = client.post(f"/mail/addresses/{address.pk}/devices/",
                           {"operation": "create", "name": "Desk", "device_type": "computer",
                            "my_permissions": ["manage_rules"]})
    assert response.status_code == 403 and "“Read mail” or “Send mail”" in page(response)
    assert not AddressAccess.objects.exists() and not DevicePassword.objects.exists()


def test_users_see_their_own_devices_admins_see_all(client, owner, admin, member, address):
    services.access_grant(actor=owner, address=address, user=member, permissions=["read"])
    services.access_grant(actor=owner, address=address, user=owner, permissions=["read"])
    services.device_password_create(actor=member, address=address, name="member-phone")
    owner_device, _raw = services.device_password_create(actor=owner, address=address,
                                                         name="owner-laptop")
    client.force_login(member)
    url = f"/mail/addresses/{address.pk}/devices/"
    mine = page(client.get(url))
    assert "member-phone" in mine and "owner-laptop" not in mine
    assert client.post(url, {"operation": "revoke", "device": owner_device.pk}).status_code == 404
    client.force_login(admin)
    everyone = page(client.get(url))
    assert "member-phone" in everyone and "owner-laptop" in everyone


# --- Invitation page (the binding rules: tests/mailservice/test_invitations.py) ---------

def test_logged_out_person_is_sent_to_login_and_back(client, owner, address):
    _invitation, raw = services.invitation_create(actor=owner, address=address,
                                                  permissions=["read", "send"], email="guest@example.org")
    url = f"/invitations/{raw}/"
    make_user("guest@example.org")
    body = page(client.get(url))
    assert "info@acme.test" in body and "Read mail" in body and "Send mail" in body
    assert f"/accounts/login/?next={url}" in body
    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == f"/accounts/login/?next={url}"
    login = client.post(f"/accounts/login/?next={url}", {"username": "guest@example.org",
                                                         "password": PASSWORD, "next": url})
    assert login.status_code == 302 and login["Location"] == url
    assert "Accept" in page(client.get(url))
    accepted = client.post(url)
    assert accepted.status_code == 302 and accepted["Location"] == f"/mail/addresses/{address.pk}/"
    access = AddressAccess.objects.get(address=address, user__email="guest@example.org")
    assert access.permissions == ["read", "send"]
    assert client.get(accepted["Location"]).status_code == 200
    used = client.get(url)
    assert used.status_code == 410 and "already been used" in page(used)


def test_logged_in_person_accepts(client, owner, address):
    _invitation, raw = services.invitation_create(actor=owner, address=address, permissions=["read"],
                                                  email="guest@example.org")
    person = make_user("guest@example.org")
    assert client.login(username="guest@example.org", password=PASSWORD)
    response = client.post(f"/invitations/{raw}/")
    assert response.status_code == 302
    assert AddressAccess.objects.filter(address=address, user=person).exists()
    assert "info@acme.test" in page(client.get("/mail/addresses/"))


def test_expired_revoked_and_unknown_links(client, owner, address):
    invitation, raw = services.invitation_create(actor=owner, address=address, permissions=["read"],
                                                 email="late@example.org")
    Invitation.objects.filter(pk=invitation.pk).update(expires=timezone.now() - timedelta(minutes=1))
    expired = client.get(f"/invitations/{raw}/")
    assert expired.status_code == 410 and "This invitation has expired" in page(expired)
    assert "info@acme.test" not in page(expired)
    client.force_login(make_user("late@example.org"))
    assert client.post(f"/invitations/{raw}/").status_code == 410
    assert not AddressAccess.objects.exists()

    revoked, raw2 = services.invitation_create(actor=owner, address=address, permissions=["read"],
                                               email="late@example.org")
    services.invitation_revoke(actor=owner, invitation=revoked)
    assert "was revoked" in page(client.get(f"/invitations/{raw2}/"))
    unknown = client.get("/invitations/not-a-real-token/")
    assert unknown.status_code == 404 and "not valid" in page(unknown)


def test_push_now_queues_a_push_and_member_cannot(client, owner, organisation, member):
    from manager.core.models import PushJob

    service = services.mail_service_create(actor=owner, organisation=organisation, domain="push.example",
                                           plan="premium")
    generation = PushJob.objects.get(target_id="push.example").generation
    client.force_login(member)
    assert client.post(f"/mail/services/{service.pk}/", {"operation": "sync"}).status_code == 404
    client.force_login(owner)
    page = client.get(f"/mail/services/{service.pk}/").content.decode()
    assert "Push now" in page
    assert client.post(f"/mail/services/{service.pk}/", {"operation": "sync"}).status_code == 302
    assert PushJob.objects.get(target_id="push.example").generation == generation + 1

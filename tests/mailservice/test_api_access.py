"""Users of an address, invitations and device passwords through the API."""
import hashlib
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from mailservice import services
from mailservice.models import AddressAccess, DevicePassword, Invitation
from manager.accounts.models import Membership
from tests.api.access import assert_access_rules
from tests.factories import grant, make_address, make_user

pytestmark = pytest.mark.django_db

ALL = ["read", "send", "manage_rules", "manage_signature", "manage_autoreply", "manage_redirections"]


@pytest.fixture
def owner_on_alice(owner, alice):
    return grant(owner, alice, owner, ALL)


@pytest.fixture
def member_on_alice(owner, alice, member):
    return grant(owner, alice, member, ["read", "send"])


def test_users_access_rules(api, alice, member, outsider, other_organisation, owner_on_alice):
    assert_access_rules(api=api, member=member, outsider=outsider,
                        list_url=f"/api/v1/addresses/{alice.pk}/users/",
                        write=("post", f"/api/v1/addresses/{alice.pk}/users/"),
                        write_payload={"user_id": member.pk, "permissions": ["read"]})


def test_device_password_access_rules(api, alice, member, outsider, other_organisation):
    assert_access_rules(api=api, member=member, outsider=outsider,
                        list_url=f"/api/v1/addresses/{alice.pk}/device-passwords/",
                        write=("post", f"/api/v1/addresses/{alice.pk}/device-passwords/"),
                        write_payload={"name": "phone"})


def test_invitation_access_rules(api, alice, member, outsider, other_organisation):
    assert_access_rules(api=api, member=member, outsider=outsider,
                        list_url=f"/api/v1/addresses/{alice.pk}/invitations/",
                        write=("post", f"/api/v1/addresses/{alice.pk}/invitations/"),
                        write_payload={"email": "friend@personal.example", "permissions": ["read"]})
    assert api(member).get(f"/api/v1/addresses/{alice.pk}/invitations/").status_code == 404


@pytest.mark.parametrize("permission", ALL)
def test_only_managers_see_the_users_of_an_address(api, owner, admin, alice, member, permission,
                                                   owner_on_alice):
    access = grant(owner, alice, member, [permission])
    base = f"/api/v1/addresses/{alice.pk}/users/"
    for url in (base, f"{base}{access.pk}/", f"{base}{owner_on_alice.pk}/"):
        response = api(member).get(url)
        assert response.status_code == 403, url
        assert response.json()["error"] == {"code": "permission_denied", "fields": {},
                                            "message": "Only administrators see the users of an address."}
    assert api(admin).get(base).json()["count"] == 2


def test_alias_and_redirection_access_rules(api, alice, member, outsider, other_organisation):
    for kind, payload in (("aliases", {"local_part": "al"}), ("redirections", {"target": "x@example.org"})):
        assert_access_rules(api=api, member=member, outsider=outsider,
                            list_url=f"/api/v1/addresses/{alice.pk}/{kind}/",
                            write=("post", f"/api/v1/addresses/{alice.pk}/{kind}/"), write_payload=payload)


def test_admin_adds_existing_member_with_permissions(api, admin, alice, member):
    response = api(admin).post(f"/api/v1/addresses/{alice.pk}/users/",
                               {"user_id": member.pk, "permissions": ["read", "manage_rules"]}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["permissions"] == ["manage_rules", "read"]
    grant_id = response.json()["id"]
    response = api(admin).patch(f"/api/v1/addresses/{alice.pk}/users/{grant_id}/",
                                {"permissions": ["read"]}, format="json")
    assert response.status_code == 200 and response.json()["permissions"] == ["read"]


class TestOneIdentifierPerItem:
    """The `{id}` of `addresses/{id}/users/{id}/` is the grant's id, as listed."""

    @pytest.fixture
    def grants(self, owner, organisation, premium, alice, member, admin):
        # Grants on another address first, so that grant ids and user ids differ.
        for _ in range(3):
            grant(owner, make_address(owner, premium), owner, ["read"])
        return [grant(owner, alice, member, ["read"]), grant(owner, alice, admin, ["read", "send"])]

    def test_list_ids_are_the_ids_the_item_urls_take(self, api, owner, alice, grants):
        client = api(owner)
        base = f"/api/v1/addresses/{alice.pk}/users/"
        listed = client.get(base).json()["results"]
        assert {item["id"] for item in listed} == {g.pk for g in grants}
        assert any(item["id"] != item["user"]["id"] for item in listed)
        for item in listed:
            detail = client.get(f"{base}{item['id']}/")
            assert detail.status_code == 200 and detail.json()["user"] == item["user"]

    def test_patch_disconnect_and_delete_act_on_the_listed_person(self, api, owner, alice, grants,
                                                                  member, admin):
        client = api(owner)
        base = f"/api/v1/addresses/{alice.pk}/users/"
        member_grant, admin_grant = grants
        services.device_password_create(actor=owner, address=alice, name="m", user=member)
        services.device_password_create(actor=owner, address=alice, name="a", user=admin)
        assert client.patch(f"{base}{member_grant.pk}/", {"permissions": ["send"]},
                            format="json").json()["user"]["id"] == member.pk
        assert AddressAccess.objects.get(pk=admin_grant.pk).permissions == ["read", "send"]
        assert client.post(f"{base}{member_grant.pk}/disconnect/").json() == {"revoked": 1}
        assert DevicePassword.objects.get(name="a").revoked is None
        assert client.delete(f"{base}{member_grant.pk}/").status_code == 204
        assert list(AddressAccess.objects.filter(address=alice).values_list("user_id", flat=True)) == [admin.pk]

    def test_a_user_id_is_not_an_item_id(self, api, owner, alice, grants, member):
        assert not AddressAccess.objects.filter(pk=member.pk, address=alice).exists()
        assert api(owner).get(f"/api/v1/addresses/{alice.pk}/users/{member.pk}/").status_code == 404

    def test_the_schema_says_which_id(self, api, owner):
        import yaml

        schema = yaml.safe_load(api(owner).get("/api/v1/schema/").content)
        operation = schema["paths"]["/api/v1/addresses/{address_pk}/users/{id}/"]["patch"]
        (parameter,) = [p for p in operation["parameters"] if p["name"] == "id"]
        assert "grant" in parameter["description"]


def test_non_member_cannot_be_added_directly(api, owner, alice, outsider):
    response = api(owner).post(f"/api/v1/addresses/{alice.pk}/users/",
                               {"user_id": outsider.pk, "permissions": ["read"]}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "not_a_member"


def test_login_address_cannot_be_shared(api, owner, organisation, premium, member):
    address = services.address_create(actor=owner, service=premium, local_part="boss")
    boss = make_user("boss@domain.xyz")
    Membership.objects.create(organisation=organisation, user=boss, role="member")
    response = api(owner).post(f"/api/v1/addresses/{address.pk}/users/",
                               {"user_id": member.pk, "permissions": ["read"]}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "address_is_login"
    response = api(owner).post(f"/api/v1/addresses/{address.pk}/invitations/",
                               {"email": "someone@personal.example", "permissions": ["read"]}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "address_is_login"
    # the account itself may still use its own address
    response = api(owner).post(f"/api/v1/addresses/{address.pk}/users/",
                               {"user_id": boss.pk, "permissions": ["read"]}, format="json")
    assert response.status_code == 201


class TestCatchall:
    @pytest.fixture
    def catchall(self, owner, premium):
        return services.address_create(actor=owner, service=premium, local_part="catchall")

    def test_catchall_can_never_send(self, api, owner, catchall):
        response = api(owner).post(f"/api/v1/addresses/{catchall.pk}/users/",
                                   {"user_id": owner.pk, "permissions": ["read", "send"]}, format="json")
        assert response.status_code == 400 and response.json()["error"]["code"] == "catchall_cannot_send"
        api(owner).post(f"/api/v1/addresses/{catchall.pk}/users/",
                        {"user_id": owner.pk, "permissions": ["read"]}, format="json")
        response = api(owner).post(f"/api/v1/addresses/{catchall.pk}/device-passwords/", {"name": "pc"},
                                   format="json")
        assert response.status_code == 201 and response.json()["can_send"] is False

    @pytest.mark.usefixtures("sieve_test")
    def test_catchall_autoreply_never_answers_mail_that_reached_it_through_the_catchall(
            self, owner, catchall):
        from mailservice.pigeonhole import simulate
        from mailservice.selectors import active_script

        services.address_update(actor=owner, address=catchall, autoreply_enabled=True,
                                autoreply_subject="Away", autoreply_body="Back Monday")
        script = active_script(catchall)
        through_catchall = (b"From: x@example.org\r\nTo: nobody@domain.xyz\r\nSubject: hi\r\n"
                            b"Message-ID: <1@example.org>\r\n\r\nhello\r\n")
        addressed = through_catchall.replace(b"nobody@domain.xyz", b"catchall@domain.xyz")
        kinds = lambda trace: [a.kind for a in trace.actions]  # noqa: E731
        assert "vacation" not in kinds(simulate(script, through_catchall, recipient="catchall@domain.xyz"))
        assert "vacation" in kinds(simulate(script, addressed, recipient="catchall@domain.xyz"))


def test_invitation_link_single_use_and_grants_permissions(api, owner, alice):
    response = api(owner).post(f"/api/v1/addresses/{alice.pk}/invitations/",
                               {"email": "friend@personal.example", "permissions": ["read", "send"], "send": True},
                               format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    token = body["url"].rstrip("/").rsplit("/", 1)[1]
    assert body["status"] == "pending"
    assert (timezone.now() + timedelta(days=30) - Invitation.objects.get().expires) < timedelta(minutes=1)
    assert len(mail.outbox) == 1 and body["url"] in mail.outbox[0].body
    listed = api(owner).get(f"/api/v1/addresses/{alice.pk}/invitations/").json()["results"]
    assert "url" not in listed[0]
    friend = make_user("friend@personal.example")
    response = api(friend).post(f"/api/v1/invitations/{token}/accept/")
    assert response.status_code == 201, response.content
    access = AddressAccess.objects.get(address=alice, user=friend)
    assert access.permissions == ["read", "send"]
    assert Membership.objects.get(user=friend).role == "member"
    assert api(friend).get(f"/api/v1/addresses/{alice.pk}/").status_code == 200
    again = api(friend).post(f"/api/v1/invitations/{token}/accept/")
    assert again.status_code == 410 and again.json()["error"]["code"] == "invitation_accepted"


GUEST = "guest@personal.example"


def test_invitation_expires_after_30_days(api, owner, alice):
    _inv, raw = services.invitation_create(actor=owner, address=alice, permissions=["read"], email=GUEST)
    Invitation.objects.update(expires=timezone.now() - timedelta(seconds=1))
    response = api(make_user(GUEST)).post(f"/api/v1/invitations/{raw}/accept/")
    assert response.status_code == 410 and response.json()["error"]["code"] == "invitation_expired"


def test_invitation_still_valid_on_day_29(api, owner, alice):
    _inv, raw = services.invitation_create(actor=owner, address=alice, permissions=["read"], email=GUEST)
    Invitation.objects.update(created=timezone.now() - timedelta(days=29))
    assert api(make_user(GUEST)).post(f"/api/v1/invitations/{raw}/accept/").status_code == 201


def test_revoked_invitation_cannot_be_used(api, owner, alice):
    invitation, raw = services.invitation_create(actor=owner, address=alice, permissions=["read"],
                                                 email=GUEST)
    assert api(owner).delete(f"/api/v1/addresses/{alice.pk}/invitations/{invitation.pk}/").status_code == 204
    response = api(make_user(GUEST)).post(f"/api/v1/invitations/{raw}/accept/")
    assert response.status_code == 410 and response.json()["error"]["code"] == "invitation_revoked"


def test_unknown_invitation_token_is_404(api, owner):
    assert api(owner).post("/api/v1/invitations/not-a-token/accept/").status_code == 404


def test_resend_issues_a_new_link_and_is_rate_limited(api, owner, alice, settings):
    settings.INVITATION_RESEND_PER_HOUR = 2
    invitation, old = services.invitation_create(actor=owner, address=alice, permissions=["read"],
                                                 email="p@personal.example", send=True)
    url = f"/api/v1/addresses/{alice.pk}/invitations/{invitation.pk}/resend/"
    response = api(owner).post(url)
    assert response.status_code == 200
    new = response.json()["url"].rstrip("/").rsplit("/", 1)[1]
    assert new != old and len(mail.outbox) == 2
    limited = api(owner).post(url)
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
    person = api(make_user("p@personal.example"))
    assert person.post(f"/api/v1/invitations/{old}/accept/").status_code == 404
    assert person.post(f"/api/v1/invitations/{new}/accept/").status_code == 201


def test_member_cannot_invite(api, owner, member, alice):
    url = f"/api/v1/addresses/{alice.pk}/invitations/"
    body = {"email": GUEST, "permissions": ["read"]}
    response = api(member).post(url, body, format="json")
    assert response.status_code == 404  # not a user of alice@: the address is not theirs to see
    grant(owner, alice, member, ["read", "manage_rules"])
    response = api(member).post(url, body, format="json")
    assert response.status_code == 403 and not Invitation.objects.exists()


class TestDevicePasswords:
    url = "/api/v1/addresses/{}/device-passwords/"

    def test_shown_exactly_once_and_stored_as_sha256(self, api, owner, alice, owner_on_alice):
        client = api(owner)
        response = client.post(self.url.format(alice.pk), {"name": "iPhone", "device_type": "phone"},
                               format="json")
        assert response.status_code == 201
        password = response.json()["password"]
        assert len(password.replace("-", "")) * 4 >= 128  # hex digits → bits
        row = DevicePassword.objects.get(pk=response.json()["id"])
        assert row.token_sha256 == hashlib.sha256(password.encode()).hexdigest()
        assert password not in str(client.get(self.url.format(alice.pk)).json())
        assert "password" not in client.get(self.url.format(alice.pk) + f"{row.pk}/").json()

    def test_several_coexist_and_revoke_one_by_one(self, api, owner, alice, owner_on_alice):
        client = api(owner)
        ids = [client.post(self.url.format(alice.pk), {"name": n}, format="json").json()["id"]
               for n in ("laptop", "phone")]
        assert client.delete(self.url.format(alice.pk) + f"{ids[0]}/").status_code == 204
        active = DevicePassword.objects.filter(revoked__isnull=True).values_list("pk", flat=True)
        assert list(active) == [ids[1]]

    def test_requires_being_a_user_of_the_address(self, api, owner, alice):
        response = api(owner).post(self.url.format(alice.pk), {"name": "x"}, format="json")
        assert response.status_code == 403 and response.json()["error"]["code"] == "not_a_user"

    def test_users_see_only_their_own_devices(self, api, owner, alice, owner_on_alice, member, member_on_alice):
        services.device_password_create(actor=owner, address=alice, name="owner-pc")
        services.device_password_create(actor=member, address=alice, name="member-phone")
        names = [d["name"] for d in api(member).get(self.url.format(alice.pk)).json()["results"]]
        assert names == ["member-phone"]
        assert len(api(owner).get(self.url.format(alice.pk)).json()["results"]) == 2

    def test_member_cannot_revoke_someone_elses_device(self, api, owner, alice, owner_on_alice, member,
                                                       member_on_alice):
        device, _ = services.device_password_create(actor=owner, address=alice, name="owner-pc")
        assert api(member).delete(self.url.format(alice.pk) + f"{device.pk}/").status_code == 404
        device.refresh_from_db()
        assert device.revoked is None

    def test_disconnect_all_versus_remove_all(self, api, owner, alice, owner_on_alice, member, member_on_alice):
        for name in ("a", "b"):
            services.device_password_create(actor=member, address=alice, name=name)
        mine, _ = services.device_password_create(actor=owner, address=alice, name="owner-pc")
        client = api(owner)
        response = client.post(f"/api/v1/addresses/{alice.pk}/users/{member_on_alice.pk}/disconnect/")
        assert response.status_code == 200 and response.json() == {"revoked": 2}
        assert not DevicePassword.objects.filter(access=member_on_alice, revoked__isnull=True).exists()
        assert AddressAccess.objects.filter(pk=member_on_alice.pk).exists()  # web access kept
        mine.refresh_from_db()
        assert mine.revoked is None  # other users untouched
        services.device_password_create(actor=member, address=alice, name="c")
        assert client.delete(f"/api/v1/addresses/{alice.pk}/users/{member_on_alice.pk}/").status_code == 204
        assert not AddressAccess.objects.filter(pk=member_on_alice.pk).exists()
        assert not DevicePassword.objects.filter(access_id=member_on_alice.pk).exists()
        assert AddressAccess.objects.filter(pk=owner_on_alice.pk).exists()

    @pytest.mark.parametrize("permission", ALL)
    def test_a_user_needs_read_or_send(self, api, owner, alice, member, permission):
        grant(owner, alice, member, [permission])
        services.device_password_create(actor=owner, address=alice, name="owner-pc",
                                        user=grant(owner, alice, owner, ["read"]).user)
        client = api(member)
        listing = client.get(self.url.format(alice.pk))
        created = client.post(self.url.format(alice.pk), {"name": "phone"}, format="json")
        if permission in ("read", "send"):
            assert listing.status_code == 200 and listing.json()["count"] == 0
            assert created.status_code == 201 and created.json()["user"]["id"] == member.pk
        else:
            for response in (listing, created):
                assert response.status_code == 403
                error = response.json()["error"]
                assert error["code"] == "permission_denied"
                assert error["message"] == ("You need the “Read mail” or “Send mail” permission "
                                            "on this address.")
            assert not DevicePassword.objects.filter(access__user=member).exists()

    def test_admin_not_a_user_gets_not_a_user_documented(self, api, admin, alice):
        import yaml

        client = api(admin)
        assert client.get(self.url.format(alice.pk)).status_code == 200  # managers see all
        response = client.post(self.url.format(alice.pk), {"name": "x"}, format="json")
        assert response.status_code == 403 and response.json()["error"]["code"] == "not_a_user"
        schema = yaml.safe_load(client.get("/api/v1/schema/").content)
        post = schema["paths"]["/api/v1/addresses/{address_pk}/device-passwords/"]["post"]
        assert "not_a_user" in post["description"]

    def test_member_cannot_remove_users(self, api, member, alice, owner_on_alice, member_on_alice, owner):
        assert api(member).delete(f"/api/v1/addresses/{alice.pk}/users/{owner_on_alice.pk}/").status_code == 403


class TestRedirections:
    def test_redirection_targets_are_validated_and_loops_refused(self, api, owner, premium, alice):
        bob = services.address_create(actor=owner, service=premium, local_part="bob")
        client = api(owner)
        url = f"/api/v1/addresses/{alice.pk}/redirections/"
        assert client.post(url, {"target": "not an address"}, format="json").status_code == 400
        response = client.post(url, {"target": "alice@domain.xyz"}, format="json")
        assert response.status_code == 400 and response.json()["error"]["code"] == "redirection_loop"
        assert client.post(url, {"target": "bob@domain.xyz", "keep_copy": False}, format="json").status_code == 201
        response = client.post(f"/api/v1/addresses/{bob.pk}/redirections/", {"target": "alice@domain.xyz"},
                               format="json")
        assert response.status_code == 400 and response.json()["error"]["code"] == "redirection_loop"

    def test_loop_through_an_alias_is_refused(self, api, owner, premium, alice):
        bob = services.address_create(actor=owner, service=premium, local_part="bob")
        services.alias_create(actor=owner, address=alice, local_part="ali")
        services.redirection_create(actor=owner, address=bob, target="ali@domain.xyz")
        response = api(owner).post(f"/api/v1/addresses/{alice.pk}/redirections/",
                                   {"target": "bob@domain.xyz"}, format="json")
        assert response.status_code == 400 and response.json()["error"]["code"] == "redirection_loop"

    def test_user_with_manage_redirections_may_add(self, api, owner, alice, member):
        services.access_grant(actor=owner, address=alice, user=member, permissions=["manage_redirections"])
        response = api(member).post(f"/api/v1/addresses/{alice.pk}/redirections/",
                                    {"target": "elsewhere@example.org"}, format="json")
        assert response.status_code == 201


def test_user_with_manage_autoreply_may_set_it_but_not_disable_address(api, owner, alice, member):
    services.access_grant(actor=owner, address=alice, user=member, permissions=["manage_autoreply"])
    client = api(member)
    response = client.patch(f"/api/v1/addresses/{alice.pk}/", {"autoreply_enabled": True,
                                                                "autoreply_body": "Away"}, format="json")
    assert response.status_code == 200
    assert client.patch(f"/api/v1/addresses/{alice.pk}/", {"enabled": False}, format="json").status_code == 403


def test_accepting_an_invitation_needs_an_account(owner, alice):
    from rest_framework.test import APIClient

    invitation, raw = services.invitation_create(actor=owner, address=alice, permissions=["read"],
                                                 email=GUEST)
    response = APIClient().post(f"/api/v1/invitations/{raw}/accept/")
    assert response.status_code == 401
    invitation.refresh_from_db()
    assert invitation.status == "pending"

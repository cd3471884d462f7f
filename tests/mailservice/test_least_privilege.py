"""Least privilege by grants: a member of the organisation who uses alice@ with one
permission sees, in pages and API, alice@ and exactly what that permission opens; nothing of
the organisation's other addresses, services, members or audit log (404); on alice@, what
they see but may not do is a 403 naming the missing permission."""
import pytest

from mailservice import services
from mailservice.models import Permission
from tests.factories import grant, make_address

pytestmark = pytest.mark.django_db

ALL = Permission.values
READ_OR_SEND = {Permission.READ, Permission.SEND}
RULES = {Permission.MANAGE_RULES}
NOBODY = set()  # organisation managers only


@pytest.fixture
def world(owner, member, premium, alice):
    bob = make_address(owner, premium, "bob")
    rule = services.rule_create(actor=owner, address=alice, name="fb",
                                conditions=[{"field": "from", "operator": "contains",
                                             "value": "facebook.com"}],
                                actions=[{"kind": "move", "argument": "fb"}])
    return {"service": premium, "alice": alice, "bob": bob, "rule": rule}


def pages(w):
    """(URL, the permissions that open it) for alice@'s pages."""
    a = w["alice"].pk
    return [
        (f"/mail/addresses/{a}/", set(ALL)),
        (f"/mail/addresses/{a}/users/", NOBODY),
        (f"/mail/addresses/{a}/devices/", READ_OR_SEND),
        (f"/mail/addresses/{a}/setup/", READ_OR_SEND),
        (f"/mail/addresses/{a}/setup/mobileconfig/", READ_OR_SEND),
        (f"/mail/addresses/{a}/rules/", RULES),
        (f"/mail/addresses/{a}/rules/new/", RULES),
        (f"/mail/addresses/{a}/rules/{w['rule'].pk}/", RULES),
        (f"/mail/addresses/{a}/rules/from-message/", RULES),
        (f"/mail/addresses/{a}/rules/test/", RULES),
        (f"/mail/addresses/{a}/rules/advanced/", RULES),
        (f"/mail/addresses/{a}/rules/advanced/download/", RULES),
    ]


def endpoints(w):
    a = w["alice"].pk
    return [
        (f"/api/v1/addresses/{a}/", set(ALL)),
        (f"/api/v1/addresses/{a}/users/", NOBODY),
        (f"/api/v1/addresses/{a}/invitations/", NOBODY),
        (f"/api/v1/addresses/{a}/device-passwords/", READ_OR_SEND),
        (f"/api/v1/addresses/{a}/client-config/", READ_OR_SEND),
        (f"/api/v1/addresses/{a}/client-config/mobileconfig/", READ_OR_SEND),
        (f"/api/v1/addresses/{a}/aliases/", NOBODY),
        (f"/api/v1/addresses/{a}/redirections/", {Permission.MANAGE_REDIRECTIONS}),
        (f"/api/v1/addresses/{a}/rules/", RULES),
        (f"/api/v1/addresses/{a}/rules/{w['rule'].pk}/", RULES),
        (f"/api/v1/addresses/{a}/rules/lint/", RULES),
        (f"/api/v1/addresses/{a}/sieve/", RULES),
        (f"/api/v1/addresses/{a}/sieve/download/", RULES),
    ]


def never_seen_pages(w):
    """The organisation's management and every page of an address the member doesn't use."""
    s, b = w["service"].pk, w["bob"].pk
    return ["/mail/", "/mail/services/new/", f"/mail/services/{s}/",
            f"/mail/services/{s}/rule-templates/", "/mail/addresses/new/", "/audit-log/",
            *[url.replace(f"/{w['alice'].pk}/", f"/{b}/", 1) for url, _needs in pages(w)]]


def never_seen_endpoints(w):
    s, b = w["service"].pk, w["bob"].pk
    return [f"/api/v1/mail-services/{s}/", f"/api/v1/mail-services/{s}/sync/",
            f"/api/v1/mail-services/{s}/rule-templates/",
            *[url.replace(f"/{w['alice'].pk}/", f"/{b}/", 1) for url, _needs in endpoints(w)]]


@pytest.mark.parametrize("permission", ALL)
def test_pages_open_exactly_what_the_permission_allows(client, owner, member, world, permission):
    grant(owner, world["alice"], member, [permission])
    client.force_login(member)
    for url, needs in pages(world):
        response = client.get(url)
        expected = 200 if permission in needs else 403
        assert response.status_code == expected, (permission, url, response.status_code)
    for url in never_seen_pages(world):
        assert client.get(url).status_code == 404, (permission, url)
    listing = client.get("/mail/addresses/").content.decode()
    assert "alice@domain.xyz" in listing and "bob@domain.xyz" not in listing
    home = client.get("/my-mail/").content.decode()
    assert "alice@domain.xyz" in home and "bob@domain.xyz" not in home


@pytest.mark.parametrize("permission", ALL)
def test_endpoints_open_exactly_what_the_permission_allows(api, owner, member, world, permission):
    grant(owner, world["alice"], member, [permission])
    client = api(member)
    for url, needs in endpoints(world):
        response = client.get(url)
        expected = 200 if permission in needs else 403
        assert response.status_code == expected, (permission, url, response.status_code)
        if expected == 403:
            error = response.json()["error"]
            assert error["code"] == "permission_denied"
            labels = dict(Permission.choices)
            named = [str(labels[p]) for p in needs] or ["administrators"]
            assert any(name in error["message"] for name in named), (url, error["message"])
    for url in never_seen_endpoints(world):
        assert client.get(url).status_code == 404, (permission, url)
    assert [a["email"] for a in client.get("/api/v1/addresses/").json()["results"]] == [
        "alice@domain.xyz"]
    assert client.get("/api/v1/mail-services/").json()["results"] == []
    assert client.get("/api/v1/audit-log/").json()["results"] == []
    members = client.get(f"/api/v1/organisations/{world['service'].organisation_id}/members/")
    assert [m["user"]["email"] for m in members.json()["results"]] == ["member@example.org"]


@pytest.mark.parametrize("permission", ALL)
def test_writes_follow_the_permission(api, owner, member, world, permission):
    grant(owner, world["alice"], member, [permission])
    client, a = api(member), world["alice"].pk
    autoreply = client.patch(f"/api/v1/addresses/{a}/", {"autoreply_enabled": True,
                                                          "autoreply_subject": "Away"},
                             format="json")
    assert autoreply.status_code == (200 if permission == Permission.MANAGE_AUTOREPLY else 403)
    redirection = client.post(f"/api/v1/addresses/{a}/redirections/",
                              {"target": "me@elsewhere.example"}, format="json")
    assert redirection.status_code == (201 if permission == Permission.MANAGE_REDIRECTIONS else 403)
    rule = client.post(f"/api/v1/addresses/{a}/rules/", {
        "name": "x", "conditions": [{"field": "subject", "operator": "contains", "value": "x"}],
        "actions": [{"kind": "move", "argument": "x"}]}, format="json")
    assert rule.status_code == (201 if permission == Permission.MANAGE_RULES else 403)
    # Administrators' changes stay theirs, whatever the permission.
    assert client.patch(f"/api/v1/addresses/{a}/", {"display_name": "Mine"},
                        format="json").status_code == 403
    assert client.delete(f"/api/v1/addresses/{a}/").status_code == 403
    assert client.post(f"/api/v1/addresses/{a}/aliases/", {"local_part": "al"},
                       format="json").status_code == 403
    assert client.delete(f"/api/v1/addresses/{world['bob'].pk}/").status_code == 404


def test_a_member_without_any_grant_sees_no_address_at_all(api, client, member, world):
    assert api(member).get("/api/v1/addresses/").json()["results"] == []
    assert api(member).get(f"/api/v1/addresses/{world['alice'].pk}/").status_code == 404
    client.force_login(member)
    assert client.get(f"/mail/addresses/{world['alice'].pk}/").status_code == 404
    assert "You do not use any mail address yet" in client.get("/my-mail/").content.decode()


def test_home_is_my_mail_for_a_member_and_the_dashboard_for_managers(client, owner, member, world):
    grant(owner, world["alice"], member, [Permission.READ])
    client.force_login(member)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/my-mail/"
    shell = client.get("/my-mail/").content.decode()
    assert "Mail services" not in shell and "Audit log" not in shell and "My mail" in shell
    client.force_login(owner)
    assert client.get("/").status_code == 200

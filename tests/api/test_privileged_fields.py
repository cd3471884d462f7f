"""Writes that try to reach beyond the caller's organisation or role are refused in the one
error shape, and change nothing: a parent id of another organisation in a body (creating in
organisation B's mail service, moving an object to B, applying to B's addresses), a role
above one's own (a member making themself owner, an admin making an owner), and the account
flags `is_staff`/`is_superuser`, which no API body sets."""
import pytest

from mailservice.models import Address
from manager.accounts.models import Membership, User
from tests.factories import add_member, make_user

from .test_cross_organisation import changes, snapshot
from .world import AD, DO, MS, ORG, ST, V1, World, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def worlds():
    return World("acmeorg").make_all(), World("zebraorg").make_all()


def refused(client, method, path, body, statuses=(400, 403, 404)):
    before = snapshot()
    response = getattr(client, method)(path, body, format="json")
    assert response.status_code in statuses, (method, path, response.status_code,
                                              response.content[:300])
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"}, error
    assert changes(before, snapshot()) == [], (method, path)
    return error


def test_another_organisations_parent_is_refused_in_bodies(worlds):
    a, b = worlds
    own = a.api
    tpl = V1 + f"/mail-services/{a[MS]}/rule-templates/" \
        f"{a[V1 + '/mail-services/{service_pk}/rule-templates/{id}/']}/apply/"
    cases = [
        ("post", V1 + "/addresses/", {"mail_service": b[MS], "local_part": "intruder"}),
        ("patch", V1 + f"/addresses/{a[AD]}/", {"mail_service": b[MS]}),
        ("put", V1 + f"/addresses/{a[AD]}/", {"mail_service": b[MS], "local_part": "box"}),
        ("post", V1 + "/mail-services/", {"organisation": b[ORG], "domain": "intruder.example",
                                          "plan": "starter"}),
        ("patch", V1 + f"/mail-services/{a[MS]}/", {"organisation": b[ORG]}),
        ("post", V1 + "/domains/", {"organisation": b[ORG], "name": "intruder.example"}),
        ("patch", V1 + f"/domains/{a[DO]}/", {"organisation": b[ORG]}),
        ("post", tpl, {"addresses": [b[AD]]}),
        ("post", V1 + f"/mail-services/{a[MS]}/signature-templates/{a[ST]}/activate/",
         {"addresses": [b[AD]]}),
        ("post", V1 + f"/addresses/{a[AD]}/rules/reorder/",
         {"order": [b[V1 + "/addresses/{address_pk}/rules/{id}/"]]}),
        ("post", V1 + f"/domains/{a[DO]}/synonyms/", {"domain": f"zone-{b.marker}.example"}),
        ("post", V1 + "/tools/connectivity-check/", {"mail_service": b[MS]}),
    ]
    for method, path, body in cases:
        refused(own, method, path, body)
    response = own.get(V1 + f"/addresses/export/?mail_service={b[MS]}")
    assert response.status_code == 400 and response.json()["error"]["code"] == "does_not_exist"


def test_a_person_of_another_organisation_is_not_made_a_user_of_an_address(worlds):
    a, b = worlds
    refused(a.api, "post", V1 + f"/addresses/{a[AD]}/users/",
            {"user_id": b.owner.pk, "permissions": ["read"]})
    assert not Address.objects.get(pk=a[AD]).accesses.filter(user=b.owner).exists()


def test_no_one_raises_a_role_above_their_own(worlds):
    a, _b = worlds
    members = V1 + f"/organisations/{a.organisation.pk}/members/"
    member = make_user("climber@acmeorg-people.example")
    climber = add_member(a.organisation, member, "member")
    admin_user = make_user("boss@acmeorg-people.example")
    admin = add_member(a.organisation, admin_user, "admin")
    as_member, as_admin = client_for(member), client_for(admin_user)

    refused(as_member, "patch", members + f"{climber.pk}/", {"role": "owner"})
    refused(as_member, "put", members + f"{climber.pk}/", {"role": "admin"})
    refused(as_admin, "patch", members + f"{admin.pk}/", {"role": "owner"})
    refused(as_admin, "patch", members + f"{climber.pk}/", {"role": "owner"})
    refused(as_admin, "post", members, {"email": "newowner@acmeorg-people.example",
                                        "role": "owner"})
    refused(as_member, "post", members, {"email": "friend@acmeorg-people.example",
                                         "role": "member"})
    assert Membership.objects.get(pk=climber.pk).role == "member"
    assert Membership.objects.get(pk=admin.pk).role == "admin"


def test_account_flags_are_never_set_through_the_api(worlds):
    """No serializer has `is_staff`/`is_superuser`: sent anyway, they change nothing."""
    a, _b = worlds
    person = make_user("flags@acmeorg-people.example")
    membership = add_member(a.organisation, person, "member")
    flags = {"is_staff": True, "is_superuser": True}
    a.api.patch(V1 + f"/organisations/{a.organisation.pk}/members/{membership.pk}/",
                {"role": "member", "user": {"id": person.pk, **flags}, **flags}, format="json")
    a.api.post(V1 + f"/addresses/{a[AD]}/users/",
               {"user_id": person.pk, "permissions": ["read"], **flags}, format="json")
    client_for(person).patch(V1 + f"/organisations/{a.organisation.pk}/members/{membership.pk}/",
                             {"role": "member", **flags}, format="json")
    assert not User.objects.filter(is_staff=True).exists()
    assert not User.objects.filter(is_superuser=True).exists()


# Fields that say whose an object is, or what an account may do.
OWNERSHIP = ("organisation_id", "mail_service_id", "address_id", "domain_id", "is_staff",
             "is_superuser")


def rows(state: dict) -> dict:
    return {(label, row["id"]): row for label, table in state.items() for row in table}


def test_no_write_of_any_operation_hands_an_object_to_another_organisation(schema, worlds):
    """Every write of the schema, on A's objects, with a body naming B's organisation and
    parents and the account flags: refused (in the shape) or those fields ignored — no row
    of A changes hands, none is created in B, B's rows stay as they were, no flag is set."""
    from django.core.cache import cache

    from .world import NOT_AN_OBJECT, OBJECTS, operations, parameter_routes, url

    a, b = worlds
    foreign = {"organisation_id": b[ORG], "mail_service_id": b[MS], "address_id": b[AD],
               "domain_id": b[DO]}
    body = {"organisation": b[ORG], "organization": b[ORG], "mail_service": b[MS],
            "address": b[AD], "domain": b[DO], "is_staff": True, "is_superuser": True}
    faults, calls = [], 0
    for path, method in operations(schema):
        params = parameter_routes(path)
        if method not in ("post", "put", "patch") or any(
                OBJECTS.get(route) is NOT_AN_OBJECT for _n, route in params):
            continue
        target = url(path, [a[route] for _n, route in params])
        before = rows(snapshot())
        cache.clear()
        response = getattr(a.api, method)(target, body, format="json")
        calls += 1
        after = rows(snapshot())
        if response.status_code >= 500 or (response.status_code >= 400 and set(
                response.json().get("error", {})) != {"code", "message", "fields"}):
            faults.append(f"{method} {target}: {response.status_code} {response.content[:200]}")
        for key, row in after.items():
            old = before.get(key)
            for field in OWNERSHIP:
                if field not in row:
                    continue
                if field in ("is_staff", "is_superuser") and row[field]:
                    faults.append(f"{method} {target}: {key} {field} set")
                elif old is not None and old[field] != row[field]:
                    faults.append(f"{method} {target}: {key} {field} {old[field]} → {row[field]}")
                elif old is None and foreign.get(field) == row[field]:
                    faults.append(f"{method} {target}: created {key} in B ({field})")
        for key, row in before.items():
            if any(row.get(f) == v for f, v in foreign.items()) and after.get(key) != row:
                faults.append(f"{method} {target}: B's {key} changed")
    assert calls > 50
    assert not faults, "\n".join(faults)

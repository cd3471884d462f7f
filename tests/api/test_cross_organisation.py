"""Every API operation, as every kind of person of organisation A, with organisation B's ids:
the answer is exactly that of an id that does not exist (a 404, same body; or the same 403
when the caller's role may not use the route at all, whatever the id), nothing in the
database changes, and no answer about A's own objects carries anything of B. The routes come
from the published schema, so a new route is in the matrix the day it is added — and fails
here until tests/api/world.py knows how to make its object."""
import pytest
from django.apps import apps
from django.core.cache import cache

from mailservice.models import Permission
from tests.factories import add_member, grant, make_user

from .world import (
    AD,
    MS,
    NOT_AN_OBJECT,
    OBJECTS,
    ORG,
    World,
    client_for,
    missing_objects,
    operations,
    parameter_routes,
    url,
)

pytestmark = pytest.mark.django_db

MISSING = 987654321
# Rows the requests themselves touch: the calling token's last use, sessions.
NOT_SNAPSHOTTED = {"accounts.apitoken", "sessions.session"}
# A caller's own language is recorded at their first request.
IGNORED_FIELDS = {"accounts.user": {"language"}}


def snapshot() -> dict:
    return {model._meta.label_lower: list(model._base_manager.order_by("pk").values())
            for model in apps.get_models() if model._meta.label_lower not in NOT_SNAPSHOTTED}


def changes(before: dict, after: dict) -> list[str]:
    """What differs between two snapshots, row by row and field by field."""
    found = []
    for label in before:
        old, new = {r["id"]: r for r in before[label]}, {r["id"]: r for r in after[label]}
        found += [f"{label} {pk}: removed" for pk in old.keys() - new.keys()]
        found += [f"{label} {pk}: added {new[pk]}" for pk in new.keys() - old.keys()]
        found += [f"{label} {pk}.{field}: {old[pk][field]!r} → {new[pk][field]!r}"
                  for pk in old.keys() & new.keys() for field in old[pk]
                  if old[pk][field] != new[pk][field]
                  and field not in IGNORED_FIELDS.get(label, ())]
    return found


def roles_of(a: World) -> dict:
    """Each kind of person organisation A has, and a stranger with no membership at all."""
    from mailservice.models import Address

    admin = make_user("role-admin@acmeorg-people.example")
    add_member(a.organisation, admin, "admin")
    user = make_user("role-granted@acmeorg-people.example")
    add_member(a.organisation, user, "member")
    grant(a.owner, Address.objects.get(pk=a[AD]), user, list(Permission.values))
    plain = make_user("role-plain@acmeorg-people.example")
    add_member(a.organisation, plain, "member")
    return {"owner": a.api, "admin": client_for(admin), "member with grants": client_for(user),
            "member without grants": client_for(plain),
            "stranger": client_for(make_user("stranger@nowhere-people.example"))}


def answer(client, method, target):
    response = getattr(client, method)(target, {}, format="json") if method != "get" \
        else client.get(target)
    body = response.json() if response.get("Content-Type", "").startswith("application/json") \
        else response.content
    return response.status_code, body


@pytest.fixture
def worlds():
    a = World("acmeorg").make_all()
    b = World("zebraorg").make_all()
    return a, b, roles_of(a)


def test_every_route_has_an_object_in_the_world(schema):
    assert missing_objects(schema) == []


def test_another_organisations_object_answers_like_a_missing_one(schema, worlds, capsys):
    a, b, roles = worlds
    before = snapshot()
    failures, covered, operations_covered = [], 0, set()
    for path, method in operations(schema):
        params = parameter_routes(path)
        if not params or any(OBJECTS.get(route) is NOT_AN_OBJECT for _n, route in params):
            continue
        for index in range(len(params)):
            # Parents before `index` are A's own; from `index` on, B's (or a missing id).
            own = [a[route] for _n, route in params[:index]]
            rest = [b[route] for _n, route in params[index + 1:]]
            foreign = url(path, own + [b[params[index][1]]] + rest)
            missing = url(path, own + [MISSING] + rest)
            for role, client in roles.items():
                cache.clear()  # the throttle counts these calls
                got, expected = answer(client, method, foreign), answer(client, method, missing)
                if got != expected or got[0] not in (403, 404):
                    failures.append(f"{role}: {method.upper()} {foreign} → {got[0]} "
                                    f"{str(got[1])[:160]}; missing id → {expected[0]} "
                                    f"{str(expected[1])[:160]}")
                covered += 1
                operations_covered.add((path, method))
    with capsys.disabled():
        print(f"\ncross-organisation matrix: {len(operations_covered)} operations × "
              f"{len(roles)} roles = {covered} calls with another organisation's id (each "
              f"against a missing id)")
    assert not failures, f"{len(failures)} answers differ:\n" + "\n".join(failures)
    assert changes(before, snapshot()) == []


# Query parameters that name an object, and the route of that object in the world.
FILTERS = {"organisation": lambda w: w[ORG], "mail_service": lambda w: w[MS],
           "address": lambda w: w[AD], "user": lambda w: w.owner.pk}


def test_answers_about_own_objects_carry_nothing_of_the_other_organisation(schema, worlds,
                                                                           capsys):
    """Every read of A (lists included), as each of A's people — and with each filter set to
    B's object: B's names never appear."""
    a, b, roles = worlds
    leaks, calls = [], 0
    for path, method in operations(schema):
        params = parameter_routes(path)
        if method != "get" or any(OBJECTS.get(route) is NOT_AN_OBJECT for _n, route in params):
            continue
        target = url(path, [a[route] for _n, route in params])
        filters = [p["name"] for p in schema["paths"][path][method].get("parameters", [])
                   if p["in"] == "query" and p["name"] in FILTERS]
        queries = [""] + [f"?{name}={FILTERS[name](b)}" for name in filters]
        for role, client in roles.items():
            for query in queries:
                cache.clear()
                response = client.get(target + query)
                calls += 1
                if b.marker.encode() in response.content or response.status_code >= 500:
                    leaks.append(f"{role}: GET {target}{query} → {response.status_code} "
                                 f"{response.content[:200]}")
    with capsys.disabled():
        print(f"\nno answer of organisation A shows organisation B: {calls} reads")
    assert not leaks, "\n".join(leaks)

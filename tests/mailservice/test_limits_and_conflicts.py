"""Limits with clear errors, and one code for one conflict."""
import pytest

from mailservice.sieve.rules import MAX_ACTIONS, MAX_CONDITIONS
from tests.factories import make_address, make_mail_service

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("local_part", ["alice", "Alice", "ALICE", " alice "])
def test_a_taken_local_part_is_409_whatever_its_case(api, owner, premium, alice, local_part):
    response = api(owner).post("/api/v1/addresses/", {"mail_service": premium.pk,
                                                      "local_part": local_part}, format="json")
    assert response.status_code == 409, response.content
    assert response.json()["error"]["code"] == "local_part_taken"


def rule(conditions=1, actions=1):
    return {"name": "big", "conditions": [{"field": "subject", "operator": "contains",
                                           "value": f"v{i}"} for i in range(conditions)],
            "actions": [{"kind": "flag"} for _ in range(actions)]}


@pytest.mark.parametrize("body, field", [(rule(conditions=5000), "conditions"),
                                         (rule(conditions=MAX_CONDITIONS + 1), "conditions"),
                                         (rule(actions=MAX_ACTIONS + 1), "actions")])
def test_rules_beyond_the_limits_are_refused_on_the_field(api, owner, alice, body, field):
    response = api(owner).post(f"/api/v1/addresses/{alice.pk}/rules/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]


def test_a_rule_at_the_limit_is_accepted(api, owner, alice):
    response = api(owner).post(f"/api/v1/addresses/{alice.pk}/rules/",
                               rule(conditions=MAX_CONDITIONS), format="json")
    assert response.status_code == 201, response.content


def test_a_template_beyond_the_rules_per_address_limit_is_refused(owner, premium):
    from mailservice import services
    from manager.core.errors import ServiceError

    with pytest.raises(ServiceError) as refused:
        services.template_create(actor=owner, service=premium, name="huge",
                                 rules=[rule()] * (services.MAX_RULES_PER_ADDRESS + 1))
    assert refused.value.code == "limit_reached"


def test_fields_fixed_at_creation_are_refused_not_ignored(api, owner, premium, starter, alice):
    client = api(owner)
    moved = client.patch(f"/api/v1/addresses/{alice.pk}/", {"mail_service": starter.pk}, format="json")
    assert moved.status_code == 400 and moved.json()["error"]["code"] == "read_only"
    renamed = client.patch(f"/api/v1/addresses/{alice.pk}/", {"local_part": "bob"}, format="json")
    assert renamed.status_code == 400 and "local_part" in renamed.json()["error"]["fields"]
    same = client.patch(f"/api/v1/addresses/{alice.pk}/", {"mail_service": premium.pk,
                                                           "display_name": "Al"}, format="json")
    assert same.status_code == 200 and same.json()["display_name"] == "Al"
    domain = client.patch(f"/api/v1/mail-services/{premium.pk}/", {"domain": "other.example"},
                          format="json")
    assert domain.status_code == 400 and domain.json()["error"]["code"] == "read_only"
    alice.refresh_from_db()
    assert (alice.mail_service_id, alice.local_part) == (premium.pk, "alice")


def over(kind):
    """A rule just over one limit of mailservice/limits.py, and the field it is refused on."""
    from mailservice import limits

    base = rule()
    if kind == "name":
        return {**base, "name": "n" * (limits.RULE_NAME_CHARS + 1)}, "name"
    if kind == "value":
        return {**base, "conditions": [{"field": "subject", "operator": "contains",
                                        "value": "v" * (limits.CONDITION_VALUE_CHARS + 1)}]}, \
            "conditions.0.value"
    if kind == "folder":
        return {**base, "actions": [{"kind": "move", "argument": "f" * (limits.FOLDER_CHARS + 1)}]}, \
            "actions.0.argument"
    if kind == "folder_segment":
        segment = "é" * (limits.FOLDER_SEGMENT_BYTES // 2 + 1)  # few characters, too many bytes
        return {**base, "actions": [{"kind": "move", "argument": f"Top/{segment}"}]}, \
            "actions.0.argument"
    if kind == "redirects":
        return {**base, "actions": [{"kind": "forward", "argument": f"t{i}@else.example"}
                                    for i in range(limits.REDIRECTS_PER_RULE + 1)]}, "actions"
    if kind == "size":
        return {**base, "conditions": [{"field": "size", "operator": "over",
                                        "value": str(limits.SIZE_CONDITION_BYTES + 1)}]}, \
            "conditions.0.value"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["name", "value", "folder", "folder_segment", "redirects", "size"])
def test_each_rule_limit_is_refused_on_its_field(api, owner, alice, kind):
    body, field = over(kind)
    response = api(owner).post(f"/api/v1/addresses/{alice.pk}/rules/", body, format="json")
    assert response.status_code == 400, response.content
    assert any(f == field or f.startswith(field) for f in response.json()["error"]["fields"]), \
        response.json()


def test_a_script_over_the_limit_is_refused(api, owner, alice):
    from mailservice import limits

    script = "# " + "x" * limits.SCRIPT_BYTES + "\nkeep;\n"
    response = api(owner).put(f"/api/v1/addresses/{alice.pk}/sieve/",
                              {"mode": "advanced", "script": script}, format="json",
                              HTTP_ACCEPT="application/json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_sieve" and "256 KB" in error["message"]
    assert "script" in error["fields"]


@pytest.mark.parametrize("quota, ok", [(0, False), (1, True), (1024 * 1024, True),
                                       (1024 * 1024 + 1, False), (10**12, False), (-5, False)])
def test_an_address_quota_is_bounded(api, owner, organisation, quota, ok):
    # A plan whose storage is set per contract: only the bounds themselves apply.
    service = make_mail_service(owner, organisation, "contract.example", plan="ksuite_enterprise")
    alice = make_address(owner, service, "alice")
    response = api(owner).patch(f"/api/v1/addresses/{alice.pk}/", {"quota_mb": quota}, format="json")
    assert response.status_code == (200 if ok else 400), response.content
    if not ok:
        assert "quota_mb" in response.json()["error"]["fields"]

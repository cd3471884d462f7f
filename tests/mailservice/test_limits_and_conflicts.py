"""Limits with clear errors, and one code for one conflict."""
import pytest

from mailservice.sieve.rules import MAX_ACTIONS, MAX_CONDITIONS

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

"""Rule templates page: save an address's rules, apply to every address, delete."""
import pytest

from mailservice import services
from mailservice.models import RuleTemplate, SortingRule
from tests.factories import make_address

pytestmark = pytest.mark.django_db

RULE = {"name": "Facebook", "conditions": [{"field": "from", "operator": "contains", "value": "facebook.com"}],
        "actions": [{"kind": "move", "argument": "fb"}]}


@pytest.fixture
def service(owner, premium, alice):
    """The Premium service with alice (who has one rule) and bob (who has none)."""
    make_address(owner, premium, "bob")
    services.rule_create(actor=owner, address=alice, name=RULE["name"], conditions=RULE["conditions"],
                         actions=RULE["actions"])
    premium.alice = alice
    return premium


def test_save_apply_and_delete_a_template(client, owner, service):
    client.force_login(owner)
    url = f"/mail/services/{service.pk}/rule-templates/"
    assert client.post(url, {"operation": "create", "name": "Social", "address": service.alice.pk}).status_code == 302
    template = RuleTemplate.objects.get(name="Social")
    assert "Facebook" in client.get(url).content.decode()
    assert client.post(url, {"operation": "apply", "template": template.pk}).status_code == 302
    assert sorted(SortingRule.objects.values_list("address__local_part", flat=True)) == ["alice", "bob"]
    assert client.post(url, {"operation": "delete", "template": template.pk}).status_code == 302
    assert not RuleTemplate.objects.exists()


def test_member_and_outsider_get_404(client, member, outsider, other_organisation,
                                                              service):
    url = f"/mail/services/{service.pk}/rule-templates/"
    client.force_login(member)
    assert client.get(url).status_code == 404
    response = client.post(url, {"operation": "create", "name": "X", "address": service.alice.pk})
    assert response.status_code == 404 and not RuleTemplate.objects.exists()
    client.force_login(outsider)
    assert client.get(url).status_code == 404


@pytest.mark.usefixtures("sievec")
def test_new_address_option_advanced_addresses_are_named_when_applying(client, owner, service):
    client.force_login(owner)
    url = f"/mail/services/{service.pk}/rule-templates/"
    assert client.post(url, {"operation": "create", "name": "Social", "address": service.alice.pk,
                             "for_new_addresses": "1"}).status_code == 302
    template = RuleTemplate.objects.get(name="Social")
    assert template.for_new_addresses is True
    assert "give Social to new addresses" in client.get(url).content.decode()
    carol = services.address_create(actor=owner, service=service, local_part="carol")
    assert list(SortingRule.objects.filter(address=carol).values_list("name", flat=True)) == ["Facebook"]
    client.post(url, {"operation": "for_new_addresses", "template": template.pk})
    template.refresh_from_db()
    assert template.for_new_addresses is False
    dave = services.address_create(actor=owner, service=service, local_part="dave")
    assert not SortingRule.objects.filter(address=dave).exists()

    services.sieve_set(actor=owner, address=service.alice, mode="advanced", script="keep;\n")
    response = client.post(url, {"operation": "apply", "template": template.pk}, follow=True)
    html = response.content.decode()
    assert "Left alone, in advanced mode" in html and "alice@domain.xyz" in html

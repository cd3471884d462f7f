"""API: sorting rules, advanced Sieve mode, rule templates (SPEC §4, §9)."""
import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mailservice import services
from mailservice.models import Address, Permission, RuleTemplate, SortingRule
from mailservice.selectors import active_script
from manager.core.models import PushJob
from tests.api.access import assert_access_rules

SIEVE_DIR = Path(__file__).resolve().parent.parent / "sieve"
SAMPLES = SIEVE_DIR / "samples"

pytestmark = pytest.mark.django_db


def rules_url(address, suffix=""):
    return f"/api/v1/addresses/{address.pk}/rules/{suffix}"


def sieve_url(address, suffix=""):
    return f"/api/v1/addresses/{address.pk}/sieve/{suffix}"


def fb_rule(name="Facebook", folder="fb", **extra):
    return {"name": name, "match": "all",
            "conditions": [{"field": "from", "operator": "contains", "value": "facebook.com"}],
            "actions": [{"kind": "move", "argument": folder}], **extra}


@pytest.fixture
def client(api, owner):
    return api(owner)


def create(client, address, **kwargs):
    response = client.post(rules_url(address), fb_rule(**kwargs), format="json")
    assert response.status_code == 201, response.content
    return response.json()


def names(client, address):
    return [r["name"] for r in client.get(rules_url(address)).json()["results"]]


def pushes(service):
    job = PushJob.objects.filter(kind="mail_service", target_id=service.domain).first()
    return job.generation if job else 0


# --- gates ------------------------------------------------------------------------------

def test_access_rules_of_the_rules_endpoints(api, client, alice, member, outsider,
                                            other_organisation):
    rule = create(client, alice)
    assert_access_rules(api=api, member=member, outsider=outsider, list_url=rules_url(alice),
                        detail_url=rules_url(alice, f"{rule['id']}/"),
                        write=("post", rules_url(alice)), write_payload=fb_rule())


def test_a_member_without_manage_rules_cannot_even_read_rules(api, client, owner, alice, member):
    create(client, alice)
    services.access_grant(actor=owner, address=alice, user=member, permissions=[Permission.READ])
    response = api(member).get(rules_url(alice))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert api(member).get(sieve_url(alice)).status_code == 403


def test_a_user_with_manage_rules_reads_and_writes_rules(api, owner, alice, member):
    services.access_grant(actor=owner, address=alice, user=member,
                          permissions=[Permission.MANAGE_RULES])
    assert api(member).post(rules_url(alice), fb_rule(), format="json").status_code == 201
    assert api(member).get(rules_url(alice)).json()["count"] == 1


def test_outsider_gets_404_on_every_rules_resource(api, alice, outsider, other_organisation,
                                                  premium):
    for url in (rules_url(alice), rules_url(alice, "reorder/"), sieve_url(alice),
                sieve_url(alice, "download/"), f"/api/v1/mail-services/{premium.pk}/rule-templates/"):
        assert api(outsider).get(url).status_code in (404, 405), url
    assert api(outsider).put(sieve_url(alice), {"mode": "standard"}, format="json").status_code == 404


# --- CRUD ---------------------------------------------------------------------------------

def test_create_list_update_delete_and_push(client, alice, premium):
    before = pushes(premium)
    rule = create(client, alice)
    assert rule["position"] == 1 and rule["enabled"] is True
    assert rule["conditions"] == [{"field": "from", "operator": "contains", "value": "facebook.com"}]
    assert pushes(premium) > before
    assert 'fileinto :create "fb";' in active_script(Address.objects.get(pk=alice.pk))

    response = client.patch(rules_url(alice, f"{rule['id']}/"), {"enabled": False}, format="json")
    assert response.status_code == 200 and response.json()["enabled"] is False
    assert active_script(Address.objects.get(pk=alice.pk)) is None  # nothing enabled

    response = client.put(rules_url(alice, f"{rule['id']}/"), fb_rule(name="FB", folder="Social/FB"),
                          format="json")
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "FB"
    assert response.json()["actions"][0]["argument"] == "Social/FB"

    assert client.delete(rules_url(alice, f"{rule['id']}/")).status_code == 204
    assert not SortingRule.objects.filter(address=alice).exists()


def test_invalid_rule_gives_field_errors(client, alice):
    payload = fb_rule(name="")
    payload["conditions"][0]["operator"] = "over"
    payload["actions"] = [{"kind": "forward", "argument": "not an address"}]
    response = client.post(rules_url(alice), payload, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) >= {"name", "conditions.0.operator", "actions.0.argument"}


def test_rules_are_refused_on_a_plan_without_them(client, alice, premium, monkeypatch):
    from mailservice import plans

    monkeypatch.setitem(plans.PLANS, "premium",
                        plans.PLANS["premium"].__class__(**{**plans.PLANS["premium"].__dict__,
                                                            "sorting_rules": False}))
    response = client.post(rules_url(alice), fb_rule(), format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "feature_not_in_plan"


def test_a_validator_refusal_is_invalid_sieve_with_its_line_and_saves_nothing(
        client, alice, monkeypatch):
    """How a refusal is reported (the real Dovecot refusing a real script: see
    test_a_refused_script_names_the_line); the compiler never emits what sievec refuses."""
    from mailservice.services import rules as rule_services
    from mailservice.sieve import SieveError

    monkeypatch.setattr(rule_services, "check_script",
                        lambda text: [SieveError(7, None, "unknown command 'x'")])
    response = client.post(rules_url(alice), fb_rule(), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_sieve"
    assert "line 7" in response.json()["error"]["message"]
    assert not SortingRule.objects.filter(address=alice).exists()


def test_duplicate_places_the_copy_right_after(client, alice):
    first = create(client, alice, name="One")
    create(client, alice, name="Two")
    response = client.post(rules_url(alice, f"{first['id']}/duplicate/"))
    assert response.status_code == 201, response.content
    assert response.json()["position"] == 2
    assert names(client, alice) == ["One", "One (copy)", "Two"]


def test_reorder_needs_exactly_the_address_rules(client, alice):
    ids = [create(client, alice, name=n)["id"] for n in ("A", "B", "C")]
    response = client.post(rules_url(alice, "reorder/"), {"order": ids[::-1]}, format="json")
    assert response.status_code == 200, response.content
    assert [r["position"] for r in response.json()] == [1, 2, 3]
    assert names(client, alice) == ["C", "B", "A"]
    for bad in (ids[:2], [*ids, ids[0]], [*ids[:2], 999999]):
        response = client.post(rules_url(alice, "reorder/"), {"order": bad}, format="json")
        assert response.status_code == 400
        assert "order" in response.json()["error"]["fields"]


def test_reorder_changes_the_compiled_order(client, alice):
    a = create(client, alice, name="A", folder="first")
    b = create(client, alice, name="B", folder="second")
    client.post(rules_url(alice, "reorder/"), {"order": [b["id"], a["id"]]}, format="json")
    script = active_script(Address.objects.get(pk=alice.pk))
    assert script.index('"second"') < script.index('"first"')


# --- from a message, test -----------------------------------------------------------------

def test_from_message_prefills_a_rule_from_an_eml(client, alice):
    upload = SimpleUploadedFile("facebook.eml", (SAMPLES / "facebook.eml").read_bytes())
    response = client.post(rules_url(alice, "from-message/"), {"message": upload}, format="multipart")
    assert response.status_code == 200, response.content
    body = response.json()
    assert "facebook" in body["sender"]
    assert body["rule"]["conditions"][0]["field"] == "from"
    assert not SortingRule.objects.filter(address=alice).exists()  # not saved


def test_from_message_returns_the_recipients_and_suggests_conditions_on_them(client, alice):
    upload = SimpleUploadedFile("sl.eml", (SAMPLES / "sl-devel-reply.eml").read_bytes())
    body = client.post(rules_url(alice, "from-message/"), {"message": upload},
                       format="multipart").json()
    assert body["recipients"] == ["scientific-linux-devel@listserv.fnal.gov", "alice@domain.xyz"]
    assert body["suggestions"][0] == {"field": "to", "operator": "contains",
                                      "value": "scientific-linux-devel@listserv.fnal.gov"}
    rule = body["rule"] | {"conditions": body["rule"]["conditions"] + body["suggestions"][:1]}
    assert client.post(rules_url(alice), rule, format="json").status_code == 201


def test_from_message_accepts_pasted_headers(client, alice):
    headers = "From: Shop <news@shop.example>\r\nSubject: Deals\r\nList-Id: Shop news <news.shop.example>\r\n"
    response = client.post(rules_url(alice, "from-message/"), {"headers": headers}, format="json")
    assert response.status_code == 200
    assert response.json()["sender"] == "news@shop.example"
    assert client.post(rules_url(alice, "from-message/"), {}, format="json").status_code == 400


@pytest.mark.usefixtures("sieve_test")
def test_testing_saved_rules_on_a_sample(client, alice):
    create(client, alice, name="Facebook", folder="fb")
    other = fb_rule(name="Other", folder="other")
    other["conditions"] = [{"field": "subject", "operator": "contains", "value": "zzz-no-match"}]
    assert client.post(rules_url(alice), other, format="json").status_code == 201
    upload = SimpleUploadedFile("facebook.eml", (SAMPLES / "facebook.eml").read_bytes())
    response = client.post(rules_url(alice, "test/"), {"message": upload}, format="multipart")
    assert response.status_code == 200, response.content
    body = response.json()
    assert [(o["name"], o["matched"], o["applied"]) for o in body["outcomes"]] == [
        ("Facebook", True, True), ("Other", False, False)]
    assert body["folders"] == ["fb"]


@pytest.mark.usefixtures("sieve_test")
def test_testing_unsaved_rules(client, alice):
    rules = [fb_rule(name="Lists", folder="nl") | {"conditions": [
        {"field": "subject", "operator": "contains", "value": "zzz-no-match"}]}]
    upload = SimpleUploadedFile("plain.eml", (SAMPLES / "plain.eml").read_bytes())
    response = client.post(rules_url(alice, "test/"), {"message": upload, "rules": json.dumps(rules)},
                           format="multipart")
    assert response.status_code == 200, response.content
    assert response.json()["outcomes"][0]["matched"] is False
    assert response.json()["folders"] == ["INBOX"]
    bad = json.dumps([{"name": "x", "conditions": [], "actions": []}])
    upload = SimpleUploadedFile("plain.eml", (SAMPLES / "plain.eml").read_bytes())
    response = client.post(rules_url(alice, "test/"), {"message": upload, "rules": bad},
                           format="multipart")
    assert response.status_code == 400
    assert "rules.0.conditions" in response.json()["error"]["fields"]


@pytest.mark.usefixtures("sieve_test")
def test_the_tester_runs_the_advanced_script_in_advanced_mode(client, alice):
    create(client, alice, name="Facebook", folder="fb")  # kept, inactive
    assert client.put(sieve_url(alice), {"mode": "advanced", "script": GUIDE_2},
                      format="json").status_code == 200
    upload = SimpleUploadedFile("sl.eml", (SAMPLES / "sl-devel-reply.eml").read_bytes())
    response = client.post(rules_url(alice, "test/"), {"message": upload}, format="multipart")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["mode"] == "advanced" and body["outcomes"] == []
    # The script's own review comes with the result: the guide's else-branch mistake.
    assert [(w["code"], w["line"]) for w in body["lint"]] == [("unset_match_variable", 9)]
    assert body["folders"] == ["Mail List/SL-Devel"]
    assert body["header_edits"] == [
        {"operation": "delete", "name": "Subject", "value": None, "truncated": False},
        {"operation": "add", "name": "Subject", "value": "Re: kernel 6.1 update", "truncated": False}]
    assert body["script"] == GUIDE_2
    # Back in standard mode the same message goes through the rules again.
    client.put(sieve_url(alice), {"mode": "standard"}, format="json")
    upload = SimpleUploadedFile("sl.eml", (SAMPLES / "sl-devel-reply.eml").read_bytes())
    body = client.post(rules_url(alice, "test/"), {"message": upload}, format="multipart").json()
    assert body["mode"] == "standard" and body["folders"] == ["INBOX"]
    assert body["header_edits"] == [] and [o["name"] for o in body["outcomes"]] == ["Facebook"]


def forward_rule(name, target, **extra):
    return fb_rule(name=name) | {"actions": [{"kind": "forward", "argument": target}], **extra}


def test_lint_reports_forwarding_to_self_and_loops_through_redirections(client, owner, alice,
                                                                        premium):
    bob = services.address_create(actor=owner, service=premium, local_part="bob")
    services.redirection_create(actor=owner, address=bob, target="carol@other.example")
    services.alias_create(actor=owner, address=alice, local_part="al")
    other = services.address_create(actor=owner, service=premium, local_part="dave")
    assert client.post(rules_url(other), forward_rule("Back", "bob@domain.xyz"),
                       format="json").status_code == 201
    for rule in (forward_rule("Self", "alice@domain.xyz"), forward_rule("Alias", "al@domain.xyz"),
                 forward_rule("Bob", "bob@domain.xyz")):
        assert client.post(rules_url(alice), rule, format="json").status_code == 201
    response = client.get(rules_url(alice, "lint/"))
    assert response.status_code == 200, response.content
    assert [(w["position"], w["rule_name"], w["code"]) for w in response.json()] == [
        (1, "Self", "forward_to_self"), (2, "Alias", "forward_loop")]
    assert "al@domain.xyz → alice@domain.xyz" in response.json()[1]["message"]
    # Bob redirecting to alice would loop through alice's "Bob" rule: the same graph refuses it.
    response = client.post(f"/api/v1/addresses/{bob.pk}/redirections/",
                           {"target": "alice@domain.xyz"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "redirection_loop"
    # Once bob redirects to alice (before the rule exists), forwarding to bob loops too.
    bob_rule = SortingRule.objects.get(address=alice, name="Bob")
    services.rule_delete(actor=owner, rule=bob_rule)
    services.redirection_create(actor=owner, address=bob, target="alice@domain.xyz")
    assert client.post(rules_url(alice), forward_rule("Bob", "bob@domain.xyz"),
                       format="json").status_code == 201
    assert [(w["rule_name"], w["code"]) for w in client.get(rules_url(alice, "lint/")).json()] == [
        ("Self", "forward_to_self"), ("Alias", "forward_loop"), ("Bob", "forward_loop")]


@pytest.mark.usefixtures("sieve_test")
def test_lint_is_gated_like_the_rules_and_included_in_the_test_result(api, client, owner, alice,
                                                                    member):
    rule = fb_rule(name="Stop first") | {"actions": [{"kind": "stop"}, {"kind": "move", "argument": "fb"}]}
    assert client.post(rules_url(alice), rule, format="json").status_code == 201
    services.access_grant(actor=owner, address=alice, user=member, permissions=[Permission.READ])
    assert api(member).get(rules_url(alice, "lint/")).status_code == 403
    upload = SimpleUploadedFile("facebook.eml", (SAMPLES / "facebook.eml").read_bytes())
    body = client.post(rules_url(alice, "test/"), {"message": upload}, format="multipart").json()
    assert [w["code"] for w in body["lint"]] == ["action_after_stop"]
    assert body["folders"] == ["fb"]  # the move listed after stop still runs, as the linter says


# --- advanced mode --------------------------------------------------------------------

GUIDE_1 = (SIEVE_DIR / "guide_example_1.sieve").read_text()
GUIDE_2 = (SIEVE_DIR / "guide_example_2.sieve").read_text()


@pytest.mark.parametrize("script", [GUIDE_1, GUIDE_2], ids=["guide-1", "guide-2"])
@pytest.mark.usefixtures("sievec")
def test_both_guide_examples_are_accepted(client, alice, script):
    response = client.put(sieve_url(alice), {"mode": "advanced", "script": script}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["mode"], body["script"]) == ("advanced", script)
    assert active_script(Address.objects.get(pk=alice.pk)) == script


@pytest.mark.usefixtures("sievec")
def test_a_refused_script_names_the_line(client, alice):
    script = 'require ["fileinto"];\n\nif header :contains "subject" "x" {\n  fileintoo "y";\n}\n'
    response = client.put(sieve_url(alice), {"mode": "advanced", "script": script}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_sieve"
    assert "line 4" in error["message"]
    assert Address.objects.get(pk=alice.pk).sieve_mode == "standard"


def test_advanced_mode_is_refused_on_starter(client, owner, starter):
    address = services.address_create(actor=owner, service=starter, local_part="solo")
    response = client.put(sieve_url(address), {"mode": "advanced", "script": GUIDE_1}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "feature_not_in_plan"
    upload = SimpleUploadedFile("x.sieve", GUIDE_1.encode())
    response = client.post(sieve_url(address, "import/"), {"file": upload}, format="multipart")
    assert response.status_code == 403
    # standard rules are fine on starter
    assert client.post(rules_url(address), fb_rule(), format="json").status_code == 201


@pytest.mark.usefixtures("sievec")
def test_switching_to_advanced_keeps_the_rules_and_back_reactivates_them(client, alice):
    create(client, alice)
    standard = client.get(sieve_url(alice)).json()
    assert standard["mode"] == "standard" and '"fb"' in standard["script"]

    client.put(sieve_url(alice), {"mode": "advanced", "script": GUIDE_2}, format="json")
    assert SortingRule.objects.filter(address=alice).count() == 1
    assert client.get(sieve_url(alice)).json()["script"] == GUIDE_2
    # rules still editable while inactive
    assert client.post(rules_url(alice), fb_rule(name="Second"), format="json").status_code == 201

    response = client.put(sieve_url(alice), {"mode": "standard"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["mode"] == "standard" and '"fb"' in body["script"] and "editheader" not in body["script"]
    assert SortingRule.objects.filter(address=alice).count() == 2


@pytest.mark.usefixtures("sievec")
def test_import_a_sieve_file_and_download_the_active_script(client, alice):
    upload = SimpleUploadedFile("filters.sieve", GUIDE_1.encode())
    response = client.post(sieve_url(alice, "import/"), {"file": upload}, format="multipart")
    assert response.status_code == 200, response.content
    assert response.json() == {"mode": "advanced", "script": GUIDE_1, "lint": []}
    response = client.get(sieve_url(alice, "download/"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert "attachment" in response["Content-Disposition"]
    assert response.content.decode() == GUIDE_1


@pytest.mark.usefixtures("sievec")
def test_import_refuses_non_utf8_and_bad_scripts(client, alice):
    upload = SimpleUploadedFile("bad.sieve", b'require "fileinto";\nfileinto "\xe9t\xe9";\n')
    response = client.post(sieve_url(alice, "import/"), {"file": upload}, format="multipart")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_sieve"
    assert "line 2" in response.json()["error"]["message"]
    upload = SimpleUploadedFile("bad.sieve", b"if true {\n")
    response = client.post(sieve_url(alice, "import/"), {"file": upload}, format="multipart")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_sieve"


# --- templates ------------------------------------------------------------------------

def templates_url(service, suffix=""):
    return f"/api/v1/mail-services/{service.pk}/rule-templates/{suffix}"


def test_template_from_an_address_applied_to_all_addresses(client, owner, alice, premium):
    bob = services.address_create(actor=owner, service=premium, local_part="bob")
    create(client, bob, name="Old rule", folder="old")
    create(client, alice, name="Facebook")
    response = client.post(templates_url(premium), {"name": "Default", "from_address": alice.pk},
                           format="json")
    assert response.status_code == 201, response.content
    template = response.json()
    assert [r["name"] for r in template["rules"]] == ["Facebook"]
    before = pushes(premium)
    response = client.post(templates_url(premium, f"{template['id']}/apply/"), {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"addresses": 2, "applied": [alice.pk, bob.pk], "skipped": []}
    assert names(client, bob) == ["Facebook"]  # replaced, not appended
    assert names(client, alice) == ["Facebook"]
    assert pushes(premium) == before + 1  # one push for the service


def test_template_with_explicit_rules_applied_to_chosen_addresses(client, owner, alice, premium):
    bob = services.address_create(actor=owner, service=premium, local_part="bob")
    response = client.post(templates_url(premium), {"name": "FB", "rules": [fb_rule()]}, format="json")
    assert response.status_code == 201, response.content
    tid = response.json()["id"]
    response = client.post(templates_url(premium, f"{tid}/apply/"), {"addresses": [bob.pk]},
                           format="json")
    assert response.json() == {"addresses": 1, "applied": [bob.pk], "skipped": []}
    assert names(client, bob) == ["Facebook"] and names(client, alice) == []
    bad = client.post(templates_url(premium), {"name": "Bad", "rules": [fb_rule(name="")]}, format="json")
    assert bad.status_code == 400 and "rules.0.name" in bad.json()["error"]["fields"]


@pytest.mark.usefixtures("sievec")
def test_applying_a_template_leaves_advanced_mode_addresses_alone_and_reports_them(
        client, owner, alice, premium):
    bob = services.address_create(actor=owner, service=premium, local_part="bob")
    create(client, alice, name="Own rule", folder="own")
    assert client.put(sieve_url(alice), {"mode": "advanced", "script": GUIDE_1},
                      format="json").status_code == 200
    tid = client.post(templates_url(premium), {"name": "FB", "rules": [fb_rule()]},
                      format="json").json()["id"]
    response = client.post(templates_url(premium, f"{tid}/apply/"), {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"addresses": 1, "applied": [bob.pk], "skipped": [
        {"id": alice.pk, "email": "alice@domain.xyz", "reason": "advanced mode"}]}
    assert names(client, alice) == ["Own rule"] and names(client, bob) == ["Facebook"]
    assert active_script(Address.objects.get(pk=alice.pk)) == GUIDE_1


def test_templates_for_new_addresses_give_their_rules_to_addresses_created_later(
        client, owner, alice, premium):
    from manager.audit.models import AuditEntry

    response = client.post(templates_url(premium), {"name": "B social", "for_new_addresses": True,
                                                    "rules": [fb_rule()]}, format="json")
    assert response.status_code == 201 and response.json()["for_new_addresses"] is True
    lists = fb_rule(name="Lists", folder="nl") | {"conditions": [
        {"field": "subject", "operator": "contains", "value": "[list]"}]}
    tid = client.post(templates_url(premium), {"name": "A lists", "rules": [lists]},
                      format="json").json()["id"]
    client.post(templates_url(premium), {"name": "C off", "rules": [fb_rule(name="Off")]},
                format="json")
    assert client.patch(templates_url(premium, f"{tid}/"), {"for_new_addresses": True},
                        format="json").json()["for_new_addresses"] is True
    before = pushes(premium)
    bob = services.address_create(actor=owner, service=premium, local_part="bob")
    assert names(client, bob) == ["Lists", "Facebook"]  # template name order
    assert names(client, alice) == []  # existing addresses are untouched
    assert pushes(premium) == before + 1  # the creation's own push carries the rules
    script = active_script(Address.objects.get(pk=bob.pk))
    assert script.index('"nl"') < script.index('"fb"')
    entry = AuditEntry.objects.filter(verb="apply rule templates").get()
    assert entry.changes["templates"][1] == [tid, RuleTemplate.objects.get(name="B social").pk]


def test_a_template_that_does_not_fit_is_left_out_without_failing_the_creation(
        client, owner, premium):
    targets = [f"t{i}@elsewhere.example" for i in range(5)]
    forwards = [fb_rule(name=f"Fwd {i}") | {"actions": [{"kind": "forward", "argument": t}]}
                for i, t in enumerate(targets)]
    for name, rules in (("A", forwards[:3]), ("B", forwards[3:])):
        assert client.post(templates_url(premium), {"name": name, "for_new_addresses": True,
                                                    "rules": rules}, format="json").status_code == 201
    bob = services.address_create(actor=owner, service=premium, local_part="bob")
    assert names(client, bob) == ["Fwd 0", "Fwd 1", "Fwd 2"]  # B would make 5 forwards


def test_template_access_rules(api, client, premium, member, outsider, other_organisation):
    tid = client.post(templates_url(premium), {"name": "FB", "rules": [fb_rule()]},
                      format="json").json()["id"]
    assert_access_rules(api=api, member=member, outsider=outsider, list_url=templates_url(premium),
                        detail_url=templates_url(premium, f"{tid}/"),
                        write=("post", templates_url(premium, f"{tid}/apply/")))
    assert RuleTemplate.objects.count() == 1


def test_the_rule_list_query_count_does_not_grow_with_rules(client, alice, django_assert_max_num_queries):
    for index in range(5):
        create(client, alice, name=f"Rule {index}")
    with django_assert_max_num_queries(12):
        response = client.get(rules_url(alice))
    assert response.json()["count"] == 5
    for index in range(5, 15):
        create(client, alice, name=f"Rule {index}")
    with django_assert_max_num_queries(12):
        assert client.get(rules_url(alice)).json()["count"] == 15


@pytest.mark.usefixtures("sieve_test")
def test_testing_the_address_runs_its_live_script_with_the_auto_reply(client, owner, alice):
    create(client, alice, name="Facebook", folder="fb")
    services.address_update(actor=owner, address=alice, autoreply_enabled=True,
                            autoreply_subject="Away", autoreply_body="Back on Monday")
    upload = SimpleUploadedFile("facebook.eml", (SAMPLES / "facebook.eml").read_bytes())
    body = client.post(rules_url(alice, "test/"), {"message": upload}, format="multipart").json()
    assert [(o["name"], o["applied"]) for o in body["outcomes"]] == [("Facebook", True)]
    assert body["folders"] == ["fb"]
    assert "vacation" in [a["kind"] for a in body["final_actions"]]
    assert "vacation" in body["script"]

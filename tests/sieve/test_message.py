from hypothesis import given, settings
from hypothesis import strategies as st

from mailservice.sieve import prefill_from_message, rule_from_dict, validate_rule


def test_a_newsletter_suggests_a_rule_filing_it_under_the_list_name(sample):
    found = prefill_from_message(sample("newsletter"))
    assert found["sender"] == "news@shop.example"
    assert found["sender_name"] == "Boutique Exemple"
    assert found["subject"] == "Les soldes commencent demain"
    assert found["list_id"] == "news.shop.example"
    assert found["list_name"] == "Boutique news"
    assert found["list_unsubscribe"] is True
    assert found["folder"] == "Boutique news"
    assert found["rule"] == {
        "name": "Boutique news",
        "enabled": True,
        "match": "all",
        "conditions": [{"field": "from", "operator": "is", "value": "news@shop.example"}],
        "actions": [{"kind": "move", "argument": "Boutique news", "keep_copy": False}],
    }
    assert validate_rule(rule_from_dict(found["rule"])) == {}
    assert found["warnings"] == []


def test_without_a_list_the_folder_is_the_sender_domain(sample):
    found = prefill_from_message(sample("facebook"))
    assert found["sender"] == "notification@facebook.com"
    assert found["folder"] == "facebook.com"
    assert found["list_unsubscribe"] is False
    assert validate_rule(rule_from_dict(found["rule"])) == {}


def test_pasted_headers_as_text_work_too():
    pasted = (
        "From: =?utf-8?q?Caf=C3=A9_du_Coin?= <Info@Cafe.Example>\r\n"
        "Subject: =?utf-8?b?UsOpc2VydmF0aW9u?=\r\n"
        "List-Id: <weekly.cafe.example>\r\n"
    )
    found = prefill_from_message(pasted)
    assert found["sender"] == "info@cafe.example"
    assert found["sender_name"] == "Café du Coin"
    assert found["subject"] == "Réservation"
    assert found["list_id"] == "weekly.cafe.example"
    assert found["folder"] == "weekly"


def test_an_unparsable_sender_is_still_used_when_it_holds_an_address():
    found = prefill_from_message(b"From: <<broken>> bob@example.com (((\nSubject: x\n\nbody")
    assert found["sender"] == "bob@example.com"


def test_a_folder_is_never_suggested_with_a_slash_or_control_characters():
    found = prefill_from_message(b"From: a@b.example\nList-Id: Team/Ops\x01 <ops.b.example>\n")
    assert found["folder"] == "Team-Ops"


def test_garbage_gives_an_empty_suggestion_and_a_warning():
    for garbage in (b"", b"\x00\xff\xfe garbage ::: \n\n\n", b"\xff" * 1000, "no headers"):
        found = prefill_from_message(garbage)
        assert found["sender"] == ""
        assert found["rule"] is None
        assert found["warnings"]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000) | st.text(max_size=500).map(str.encode))
def test_prefill_never_raises(raw):
    found = prefill_from_message(raw)
    assert set(found) >= {"sender", "subject", "folder", "rule", "warnings"}
    if found["rule"] and found["rule"]["actions"]:
        assert not validate_rule(rule_from_dict(found["rule"])).get("actions.0.argument")


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["From", "Subject", "List-Id", "List-Unsubscribe", "Sender", "To"]),
        st.text(max_size=60),
    )
)
def test_prefill_never_raises_on_odd_header_values(headers):
    raw = "".join(f"{name}: {value}\n" for name, value in headers.items()).encode(
        "utf-8", "surrogatepass"
    )
    prefill_from_message(raw)


def test_recipients_are_the_to_and_cc_addresses_once_each(sample):
    found = prefill_from_message(sample("sl-devel-reply"))
    assert found["recipients"] == ["scientific-linux-devel@listserv.fnal.gov", "alice@domain.xyz"]
    assert found["suggestions"] == [
        {"field": "to", "operator": "contains", "value": "scientific-linux-devel@listserv.fnal.gov"},
        {"field": "cc", "operator": "contains", "value": "alice@domain.xyz"},
    ]
    for condition in found["suggestions"]:
        suggested = {**found["rule"], "conditions": [*found["rule"]["conditions"], condition]}
        assert validate_rule(rule_from_dict(suggested)) == {}


def test_recipients_are_deduplicated_across_headers_and_case():
    pasted = (
        "From: a@b.example\r\n"
        'To: "Doe, Jo" <Jo@Y.example>, z@y.example\r\n'
        "To: jo@y.example\r\n"
        "Cc: Z@y.example, w@y.example\r\n"
    )
    found = prefill_from_message(pasted)
    assert found["recipients"] == ["jo@y.example", "z@y.example", "w@y.example"]
    assert [(s["field"], s["value"]) for s in found["suggestions"]] == [
        ("to", "jo@y.example"), ("to", "z@y.example"), ("cc", "w@y.example")]


def test_no_recipients_gives_empty_lists():
    found = prefill_from_message("From: a@b.example\r\nSubject: x\r\n")
    assert found["recipients"] == [] and found["suggestions"] == []

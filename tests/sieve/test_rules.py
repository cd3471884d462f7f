import pytest

from mailservice.sieve import (
    Action,
    Condition,
    Rule,
    folder_errors,
    normalize_folder,
    rule_from_dict,
    rule_to_dict,
    validate_rule,
    validate_rule_set,
)
from mailservice.sieve.rules import parse_size, sieve_size

from .golden_cases import CASES

MOVE = (Action("move", "Folder"),)


def rule(*conditions, actions=MOVE, **kwargs):
    return Rule(kwargs.pop("name", "A rule"), conditions=conditions, actions=actions, **kwargs)


def test_a_complete_rule_has_no_errors():
    for case in ("every_condition", "every_action", "disabled_and_folders"):
        for item in CASES[case]["rules"]:
            assert validate_rule(item) == {}, item.name


@pytest.mark.parametrize(
    ("condition", "key"),
    [
        (Condition("list-id", "contains", "x"), "conditions.0.field"),
        (Condition("from", "over", "x"), "conditions.0.operator"),
        (Condition("size", "contains", "1M"), "conditions.0.operator"),
        (Condition("body", "regex", "x"), "conditions.0.operator"),
        (Condition("email_type", "contains", "spam"), "conditions.0.operator"),
        (Condition("from", "contains", ""), "conditions.0.value"),
        (Condition("subject", "is", "a\nb"), "conditions.0.value"),
        (Condition("subject", "is", "a\x00b"), "conditions.0.value"),
        (Condition("subject", "regex", "(unclosed"), "conditions.0.value"),
        (Condition("subject", "contains", "x" * 1001), "conditions.0.value"),
        (Condition("size", "over", ""), "conditions.0.value"),
        (Condition("size", "over", "big"), "conditions.0.value"),
        (Condition("size", "over", "-5K"), "conditions.0.value"),
        (Condition("size", "over", "3G"), "conditions.0.value"),
        (Condition("email_type", "is", "newsletter"), "conditions.0.value"),
    ],
)
def test_bad_conditions_are_reported_on_their_field(condition, key):
    assert key in validate_rule(rule(condition))


def test_exists_needs_no_value_and_tabs_are_allowed_in_values():
    assert validate_rule(rule(Condition("cc", "exists"))) == {}
    assert validate_rule(rule(Condition("subject", "contains", "a\tb"))) == {}


@pytest.mark.parametrize(
    ("value", "size"),
    [("500K", 512000), ("2M", 2097152), ("2 MB", 2097152), ("1234", 1234), ("1g", 1073741824)],
)
def test_sizes_accept_units(value, size):
    assert parse_size(value) == size
    assert validate_rule(rule(Condition("size", "under", value))) == {}


def test_sieve_size_keeps_the_unit():
    assert sieve_size(" 500 kb ") == "500K"
    assert sieve_size("0100") == "100"
    assert sieve_size("x") is None


@pytest.mark.parametrize(
    ("name", "normal"),
    [
        ("Mail List/SL-Devel", "Mail List/SL-Devel"),
        ("INBOX/Factures", "Factures"),
        ("inbox/Factures/2026", "Factures/2026"),
        ("  Réunions ", "Réunions"),
        ("INBOX", "INBOX"),
        ("INBOXES", "INBOXES"),
    ],
)
def test_folders_are_normalised(name, normal):
    assert normalize_folder(name) == normal
    assert folder_errors(name) == []


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        "INBOX/",
        "/Factures",
        "Factures/",
        "a//b",
        "a/ /b",
        "a\tb",
        "a\nb",
        "a/../b",
        ".",
        "~x",
        "x" * 256,
        "é" * 128,
    ],
)
def test_bad_folders_are_refused(name):
    assert folder_errors(name)
    assert "actions.0.argument" in validate_rule(
        rule(Condition("from", "contains", "x"), actions=(Action("copy", name),))
    )


@pytest.mark.parametrize(
    ("address", "ok"),
    [
        ("bob@example.com", True),
        (" first.last+tag@sub.example.org ", True),
        ("", False),
        ("bob", False),
        ("bob@localhost", False),
        ("a b@example.com", False),
        ("böb@example.com", False),
        ("Bob <bob@example.com>", False),
        ('bob@example.com";discard;"', False),
        ("bob@-example.com", False),
        ("x" * 65 + "@example.com", False),
    ],
)
def test_forward_addresses_must_be_plain_ascii_addresses(address, ok):
    errors = validate_rule(
        rule(Condition("from", "contains", "x"), actions=(Action("forward", address),))
    )
    assert ("actions.0.argument" not in errors) is ok


def test_rule_level_errors():
    errors = validate_rule(Rule(" ", match="most"))
    assert set(errors) == {"name", "match", "conditions", "actions"}
    assert "name" in validate_rule(rule(Condition("cc", "exists"), name="a\nb"))
    assert "name" in validate_rule(rule(Condition("cc", "exists"), name="n" * 201))
    assert "actions.0.kind" in validate_rule(
        rule(Condition("cc", "exists"), actions=(Action("reject"),))
    )


def test_delete_cannot_be_combined_with_filing_or_forwarding():
    errors = validate_rule(
        rule(Condition("cc", "exists"), actions=(Action("delete"), Action("move", "X")))
    )
    assert "actions" in errors
    assert (
        validate_rule(rule(Condition("cc", "exists"), actions=(Action("delete"), Action("stop"))))
        == {}
    )


def test_the_server_redirect_limit_is_checked_per_rule_and_per_set():
    forwards = tuple(Action("forward", f"u{i}@example.com") for i in range(5))
    assert "actions" in validate_rule(rule(Condition("cc", "exists"), actions=forwards))
    rules = [rule(Condition("cc", "exists"), actions=(a,)) for a in forwards]
    assert validate_rule_set(rules)
    assert validate_rule_set(rules[:4]) == []
    assert validate_rule_set([*rules[:4], Rule("off", enabled=False, actions=forwards)]) == []


def test_plain_data_round_trip():
    for case in CASES.values():
        for item in case["rules"]:
            assert rule_from_dict(rule_to_dict(item)) == item
    assert rule_from_dict({}) == Rule("")

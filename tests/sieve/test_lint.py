"""The rule linter: frequent mistakes in valid standard rules (pure, no Dovecot)."""

import pytest

from mailservice.sieve.lint import LintWarning, lint_rules
from mailservice.sieve.rules import Action, Condition, Rule

ME = "alice@domain.xyz"
FB = Condition("from", "contains", "facebook.com")
EVERYTHING = Condition("from", "exists")


def rule(name, *actions, conditions=(FB,), match="all", enabled=True):
    return Rule(name, enabled=enabled, match=match, conditions=tuple(conditions),
                actions=tuple(actions))


def codes(rules, **kwargs):
    return [(w.position, w.rule_name, w.code) for w in lint_rules(rules, address_email=ME, **kwargs)]


def test_clean_rules_give_no_warning():
    rules = [
        rule("fb", Action("mark_read"), Action("move", "fb"), Action("stop")),
        rule("spam", Action("delete"), Action("stop"), conditions=[Condition("email_type", "is", "spam")]),
        rule("boss", Action("forward", "me@elsewhere.example", keep_copy=True)),
        rule("big", Action("move", "Big"), conditions=[Condition("size", "over", "1M"),
                                                      Condition("size", "under", "5M")]),
    ]
    assert lint_rules(rules, address_email=ME, forwards_of={"me@elsewhere.example": {"x@y.example"}}) == []


def test_actions_after_stop_are_reported_with_the_truth_about_them():
    [warning] = lint_rules([rule("fb", Action("stop"), Action("move", "fb"))], address_email=ME)
    assert warning == LintWarning(1, "fb", "action_after_stop", warning.message)
    assert warning.message == (
        "Actions listed after “stop” still run: a rule always stops after all its actions. "
        "Put “stop” last so the rule reads the way it runs.")


def test_a_flag_after_a_move_applies_anyway_and_the_message_says_so():
    [warning] = lint_rules([rule("fb", Action("move", "fb"), Action("mark_read"))], address_email=ME)
    assert warning.code == "flag_after_fileinto"
    assert warning.message.startswith(
        "“Mark as read” is listed after “Move to folder”: the flag is applied anyway")
    assert codes([rule("fb", Action("copy", "fb"), Action("flag"))]) == [(1, "fb", "flag_after_fileinto")]
    assert codes([rule("fb", Action("flag"), Action("copy", "fb"))]) == []


@pytest.mark.parametrize("target", [ME, " Alice@Domain.XYZ "])
def test_forwarding_to_the_address_itself(target):
    rules = [rule("me", Action("forward", target))]
    assert codes(rules) == [(1, "me", "forward_to_self")]


def test_a_forward_that_comes_back_through_aliases_and_redirections_is_a_loop():
    forwards_of = {
        "bob@domain.xyz": {"carol@other.example"},
        "carol@other.example": {"ALICE@domain.xyz"},
        "dave@domain.xyz": {"erin@domain.xyz"},
    }
    rules = [rule("bob", Action("forward", "bob@domain.xyz")),
             rule("dave", Action("forward", "dave@domain.xyz"))]
    [warning] = lint_rules(rules, address_email=ME, forwards_of=forwards_of)
    assert (warning.position, warning.code) == (1, "forward_loop")
    assert "alice@domain.xyz → bob@domain.xyz → carol@other.example → alice@domain.xyz" in warning.message


def test_a_cycle_that_does_not_include_the_address_is_not_its_loop():
    forwards_of = {"bob@domain.xyz": {"carol@domain.xyz"}, "carol@domain.xyz": {"bob@domain.xyz"}}
    assert codes([rule("bob", Action("forward", "bob@domain.xyz"))], forwards_of=forwards_of) == []


def test_rules_after_a_match_everything_stop_rule_are_unreachable():
    rules = [
        rule("fb", Action("move", "fb")),
        rule("all", Action("move", "Archive"), Action("stop"), conditions=[EVERYTHING]),
        rule("later", Action("move", "x")),
        rule("off", Action("move", "y"), enabled=False),
        rule("last", Action("flag"), conditions=[Condition("subject", "contains", "x")]),
    ]
    warnings = lint_rules(rules, address_email=ME)
    assert [(w.position, w.code) for w in warnings] == [(3, "unreachable"), (5, "unreachable")]
    assert warnings[0].message == (
        "Rule 2 “all” matches every message and stops processing: this rule never runs.")


@pytest.mark.parametrize("conditions, match", [
    ([Condition("from", "matches", "*")], "all"),
    ([Condition("size", "over", "0")], "all"),
    ([FB, EVERYTHING], "any"),
])
def test_other_ways_of_matching_everything(conditions, match):
    rules = [rule("catch", Action("delete"), Action("stop"), conditions=conditions, match=match),
             rule("later", Action("move", "x"))]
    assert codes(rules) == [(2, "later", "unreachable")]


def test_a_rule_that_can_fail_or_does_not_stop_hides_nothing():
    rules = [rule("no stop", Action("move", "a"), conditions=[EVERYTHING]),
             rule("can fail", Action("move", "b"), Action("stop"), conditions=[EVERYTHING, FB]),
             rule("disabled", Action("stop"), conditions=[EVERYTHING], enabled=False),
             rule("later", Action("move", "c"))]
    assert codes(rules) == []


@pytest.mark.parametrize("conditions", [
    [Condition("size", "over", "5M"), Condition("size", "under", "1M")],
    [Condition("size", "over", "1K"), Condition("size", "under", "1025")],  # nothing strictly between
    [Condition("size", "under", "0")],
    [Condition("subject", "is", "Hello"), Condition("subject", "is_not", "hello")],
    [Condition("from", "contains", "news@shop.example"), Condition("from", "not_contains", "SHOP")],
    [Condition("to", "is", "list@x.example"), Condition("to", "not_contains", "list@x.example")],
    [Condition("email_type", "is", "spam"), Condition("email_type", "is_not", "spam")],
    [Condition("body", "contains", "unsubscribe"), Condition("body", "not_contains", "subscribe")],
])
def test_conditions_that_can_never_hold_together(conditions):
    assert codes([rule("never", Action("move", "x"), conditions=conditions)]) == [
        (1, "never", "never_matches")]


@pytest.mark.parametrize("conditions, match", [
    ([Condition("size", "over", "1K"), Condition("size", "under", "1026")], "all"),
    ([Condition("size", "over", "5M"), Condition("size", "under", "1M")], "any"),
    ([Condition("subject", "is", "a"), Condition("subject", "is_not", "b")], "all"),
    ([Condition("subject", "contains", "a"), Condition("subject", "is_not", "a")], "all"),
    ([Condition("to", "is", "a@x.example"), Condition("cc", "is_not", "a@x.example")], "all"),
    ([Condition("subject", "is", "a"), Condition("subject", "is_not", "a")], "any"),
])
def test_conditions_that_can_hold(conditions, match):
    assert codes([rule("ok", Action("move", "x"), conditions=conditions, match=match)]) == []


def test_a_never_matching_any_rule_needs_every_condition_impossible():
    rule_ = rule("never", Action("move", "x"), match="any",
                 conditions=[Condition("size", "under", "0"), Condition("size", "under", "0K")])
    [warning] = lint_rules([rule_], address_email=ME)
    assert warning.message == "No message is smaller than 0 bytes: this rule never matches."


def test_a_never_matching_stop_rule_hides_nothing_and_delete_with_stop_is_fine():
    rules = [rule("never", Action("stop"), conditions=[Condition("size", "under", "0"), EVERYTHING]),
             rule("spam", Action("delete"), Action("stop")),
             rule("later", Action("move", "x"))]
    assert codes(rules) == [(1, "never", "never_matches")]


def test_warnings_come_in_rule_order_with_translatable_templates():
    rules = [rule("a", Action("forward", ME), Action("stop"), Action("flag")),
             rule("b", Action("move", "x"), Action("flag"))]
    warnings = lint_rules(rules, address_email=ME)
    assert [(w.position, w.code) for w in warnings] == [
        (1, "action_after_stop"), (1, "forward_to_self"), (2, "flag_after_fileinto")]
    for warning in warnings:
        assert warning.template % warning.params == warning.message

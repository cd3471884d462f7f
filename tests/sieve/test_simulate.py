from pathlib import Path

import pytest

from mailservice import pigeonhole
from mailservice.pigeonhole import SieveToolMissing, simulate, test_rules
from mailservice.sieve import Action, Condition, HeaderEdit, Rule, SieveScriptInvalid, SimAction

HERE = Path(__file__).parent
GUIDE_1 = (HERE / "guide_example_1.sieve").read_text(encoding="utf-8")
GUIDE_2 = (HERE / "guide_example_2.sieve").read_text(encoding="utf-8")
INBOX = SimAction("store", "INBOX", keep="implicit")

pytestmark = pytest.mark.usefixtures("sieve_test")


def rule(name, *actions, conditions, match="all", enabled=True):
    return Rule(name, enabled=enabled, match=match, conditions=conditions, actions=actions)


# The guide's scripts, as they are (advanced mode).


@pytest.mark.parametrize(
    ("sample_name", "folder"), [("facebook", "fb"), ("newsletter", "nl"), ("plain", "INBOX")]
)
def test_guide_first_example_sorts_the_samples(sample, sample_name, folder):
    trace = simulate(GUIDE_1, sample(sample_name))
    assert trace.folders == (folder,)
    assert trace.success


def test_guide_second_example_files_the_list_and_rewrites_the_subject(sample):
    trace = simulate(GUIDE_2, sample("sl-devel-reply"))
    assert trace.actions == (SimAction("store", "Mail List/SL-Devel"),)
    assert trace.implicit_keep is None
    assert trace.header_edits == (
        HeaderEdit("delete", "Subject"),
        HeaderEdit("add", "Subject", "Re: kernel 6.1 update"),
    )


def test_guide_second_example_leaves_other_mail_alone(sample):
    trace = simulate(GUIDE_2, sample("plain"))
    assert trace.final_actions == (INBOX,)
    assert trace.header_edits == ()


def test_an_invalid_script_raises_with_its_errors(sample):
    with pytest.raises(SieveScriptInvalid) as caught:
        simulate('keep;\nfileinto "x";\n', sample("plain"))
    assert caught.value.errors[0].line == 2


def test_runtime_conflicts_are_reported_not_raised(sample):
    script = 'require ["reject", "vacation"];\nvacation "away";\nreject "no";\n'
    trace = simulate(script, sample("plain"))
    assert not trace.success
    assert any("line 3" in error for error in trace.errors)


# Standard rules, through test_rules().


FACEBOOK = rule(
    "Facebook", Action("move", "fb"), conditions=(Condition("from", "contains", "facebook.com"),)
)
NEWSLETTERS = rule(
    "Newsletters",
    Action("move", "nl"),
    conditions=(Condition("from", "matches", "*@shop.example"), Condition("subject", "exists")),
)
SL_DEVEL = rule(
    "SL-Devel",
    Action("move", "INBOX/Mail List/SL-Devel"),
    conditions=(Condition("to", "is", "scientific-linux-devel@listserv.fnal.gov"),),
)
SPAM = rule(
    "Spam",
    Action("move", "Junk"),
    Action("mark_read"),
    conditions=(Condition("email_type", "is", "spam"),),
)
RULES = [FACEBOOK, NEWSLETTERS, SL_DEVEL, SPAM]


@pytest.mark.parametrize(
    ("sample_name", "matched", "folders"),
    [
        ("facebook", ["Facebook"], ("fb",)),
        ("newsletter", ["Newsletters"], ("nl",)),
        ("sl-devel-reply", ["SL-Devel"], ("Mail List/SL-Devel",)),
        ("spam-typed", ["Spam"], ("Junk",)),
        ("plain", [], ("INBOX",)),
    ],
)
def test_the_standard_rules_sort_each_sample(sample, sample_name, matched, folders):
    result = test_rules(RULES, sample(sample_name))
    assert [outcome.name for outcome in result.matched] == matched
    assert result.trace.folders == folders
    assert [o.position for o in result.outcomes] == [1, 2, 3, 4]


def test_the_email_type_rule_files_spam_marked_as_read(sample):
    result = test_rules([SPAM], sample("spam-typed"))
    assert result.trace.final_actions == (SimAction("store", "Junk", ("\\Seen",), create=True),)
    assert result.outcomes[0].actions == result.trace.final_actions


def test_the_email_type_header_name_is_configurable(sample):
    assert not test_rules([SPAM], sample("spam-typed"), email_type_header="X-Other").matched
    is_not_spam = rule(
        "Not spam", Action("flag"), conditions=(Condition("email_type", "is_not", "spam"),)
    )
    assert test_rules([is_not_spam], sample("plain")).matched
    assert not test_rules([is_not_spam], sample("spam-typed")).matched


def test_reply_to_body_and_size_conditions_on_the_plain_sample(sample):
    conditions = {
        "reply-to": Condition("reply_to", "is", "support@partner.example"),
        "body": Condition("body", "contains", "invoice NUMBER"),
        "no body": Condition("body", "not_contains", "unsubscribe"),
        "over": Condition("size", "over", "100"),
        "under": Condition("size", "under", "1K"),
        "cc": Condition("cc", "exists"),
        "from is": Condition("from", "is", "bob@partner.example"),
        "regex": Condition("subject", "regex", "^meet(ing)? notes$"),
        "not regex": Condition("subject", "regex", "^notes"),
        "display name": Condition("from", "contains", "Keller"),
    }
    rules = [rule(name, Action("flag"), conditions=(c,)) for name, c in conditions.items()]
    result = test_rules(rules, sample("plain"))
    assert {o.name for o in result.matched} == {
        "reply-to",
        "body",
        "no body",
        "over",
        "under",
        "from is",
        "regex",
    }


def test_stop_keeps_later_matching_rules_from_applying(sample):
    first = rule(
        "First",
        Action("copy", "A"),
        Action("stop"),
        conditions=(Condition("from", "contains", "partner"),),
    )
    second = rule("Second", Action("move", "B"), conditions=(Condition("subject", "exists"),))
    result = test_rules([first, second], sample("plain"))
    assert [(o.matched, o.applied) for o in result.outcomes] == [(True, True), (True, False)]
    assert result.trace.folders == ("A", "INBOX")
    # ... while the second rule's own effect is still shown:
    assert result.outcomes[1].actions == (SimAction("store", "B", create=True),)


def test_disabled_rules_are_neither_compiled_nor_tested(sample):
    off = rule(
        "Off", Action("delete"), conditions=(Condition("cc", "not_contains", "x"),), enabled=False
    )
    result = test_rules([off], sample("plain"))
    assert result.outcomes[0].matched is False
    assert result.outcomes[0].enabled is False
    assert result.trace.final_actions == (INBOX,)


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        (
            (Action("copy", "Archive"),),
            (SimAction("store", "Archive", create=True, copy=True), INBOX),
        ),
        ((Action("forward", "bob@example.com"),), (SimAction("redirect", "bob@example.com"),)),
        (
            (Action("forward", "bob@example.com", keep_copy=True),),
            (SimAction("redirect", "bob@example.com", copy=True), INBOX),
        ),
        ((Action("delete"),), (SimAction("discard"),)),
        ((Action("mark_read"),), (SimAction("store", "INBOX", ("\\Seen",), keep="implicit"),)),
        (
            (Action("move", 'Dossier "é"/sub'), Action("flag")),
            (SimAction("store", 'Dossier "é"/sub', ("\\Flagged",), create=True),),
        ),
    ],
)
def test_each_action_does_what_it_says(sample, actions, expected):
    result = test_rules(
        [rule("r", *actions, conditions=(Condition("cc", "exists"),))], sample("sl-devel-reply")
    )
    assert result.trace.final_actions == expected
    assert result.outcomes[0].actions == expected


def test_delete_discards_the_message(sample):
    result = test_rules(
        [rule("d", Action("delete"), conditions=(Condition("cc", "exists"),))],
        sample("sl-devel-reply"),
    )
    assert result.trace.discarded


def test_flags_set_after_a_fileinto_would_not_apply_which_is_why_the_compiler_hoists_them(sample):
    late = 'require ["fileinto", "imap4flags"];\nfileinto "X";\naddflag "\\\\Seen";\n'
    assert simulate(late, sample("plain")).final_actions == (SimAction("store", "X"),)
    user_order = rule(
        "r", Action("move", "X"), Action("mark_read"), conditions=(Condition("subject", "exists"),)
    )
    trace = test_rules([user_order], sample("plain")).trace
    assert trace.flags_in("X") == ("\\Seen",)


def test_hostile_values_are_matched_literally(sample):
    hostile = rule(
        "h",
        Action("delete"),
        conditions=(Condition("subject", "contains", '";\nredirect "x@example.com";'),),
    )
    result = test_rules([hostile], sample("plain"))
    assert not result.matched
    assert result.trace.redirects == ()


def test_missing_sieve_test_raises_a_clear_error(monkeypatch, sample):
    monkeypatch.setattr(pigeonhole.shutil, "which", lambda *args, **kwargs: None)
    with pytest.raises(SieveToolMissing, match="sieve-test"):
        simulate("keep;", sample("plain"))

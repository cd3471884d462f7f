"""The advanced-script linter: mistakes in Sieve scripts that Dovecot accepts (pure, no Dovecot
except where a test proves a script is valid)."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailservice.pigeonhole import check_script
from mailservice.sieve.lint import LintWarning
from mailservice.sieve.rules import folder_errors
from mailservice.sieve.script_lint import FOLDER_REASONS, lint_script
from mailservice.sieve.script_parser import parse_script

HERE = Path(__file__).parent
ME = "alice@domain.xyz"


def found(script, **kwargs):
    return [(w.line, w.code) for w in lint_script(script, address_email=ME, **kwargs)]


# Each case: a script with the mistake and the warnings it gets, and a close script without.
WARNED = {
    "after-stop": ('require "fileinto";\nstop;\nfileinto "X";\nkeep;\n',
                   [(3, "action_after_stop")]),
    "after-stop-in-a-block": ('if size :over 1M {\n  discard;\n  stop;\n  keep;\n}\nkeep;\n',
                              [(4, "action_after_stop")]),
    "after-an-always-stopping-if": ('if true { stop; }\nkeep;\n', [(2, "unreachable")]),
    "after-if-and-else-that-both-stop": (
        'if header :is "x" "y" {\n  stop;\n} else {\n  discard; stop;\n}\nkeep;\n',
        [(6, "unreachable")]),
    "elsif-and-else-after-if-true": (
        'if true {\n  keep;\n} elsif header :is "x" "y" {\n  discard;\n} else {\n  keep;\n}\n',
        [(3, "unreachable"), (5, "unreachable")]),
    "anyof-with-true": ('if anyof(header :is "x" "y", true) { keep; }\nelse { discard; }\n',
                        [(2, "unreachable")]),
    "if-false": ('if false {\n  discard;\n}\n', [(1, "never_matches")]),
    "elsif-not-true": ('if header :is "x" "y" { keep; }\nelsif not true { discard; }\n',
                       [(2, "never_matches")]),
    "match-variable-before-any-match": (
        'require ["variables", "fileinto"];\nfileinto "${1}";\n', [(2, "unset_match_variable")]),
    "match-variable-in-else": (
        'require ["variables", "fileinto"];\nif header :matches "subject" "[*]*" {\n'
        '  fileinto "${1}";\n} else {\n  fileinto "lists/${1}";\n}\n',
        [(5, "unset_match_variable")]),
    "match-variable-in-a-negated-match": (
        'require ["variables", "fileinto"];\nif not header :matches "subject" "*" {\n'
        '  fileinto "x${0}";\n}\n', [(3, "unset_match_variable")]),
    "match-variable-in-vacation-text": (
        'require ["variables", "vacation"];\nvacation :subject "Re: ${1}" text:\nHello\n.\n;\n',
        [(2, "unset_match_variable")]),
    "folder-with-an-empty-segment": ('require "fileinto";\nfileinto "Lists//dev";\n',
                                     [(2, "invalid_folder")]),
    "folder-starting-with-tilde": ('require ["fileinto", "mailbox"];\nfileinto :create "~x";\n',
                                   [(2, "invalid_folder")]),
    "dot-dot-folder": ('require "fileinto";\nif true { fileinto "a/../b"; }\n',
                       [(2, "invalid_folder")]),
    "redirect-to-self": ('redirect "Alice@Domain.XYZ";\n', [(1, "forward_to_self")]),
    "redirect-copy-to-self": ('require "copy";\nredirect :copy "alice@domain.xyz";\n',
                              [(2, "forward_to_self")]),
    "required-unused": ('require ["fileinto", "vacation"];\nfileinto "x";\n',
                        [(1, "extension_unused")]),
    "seconds-required-for-nothing": ('require ["vacation", "vacation-seconds"];\nvacation "x";\n',
                                     [(1, "extension_unused")]),
    "variable-without-variables": ('require "fileinto";\nif header :matches "subject" "*" {\n'
                                   '  fileinto "${1}";\n}\n', [(3, "extension_not_required")]),
}
CLEAN = {
    "stop-last": 'require "fileinto";\nfileinto "X";\nstop;\n',
    "stop-in-a-branch": 'if size :over 1M {\n  discard;\n  stop;\n}\nkeep;\n',
    "if-that-does-not-always-stop": 'if header :is "x" "y" { stop; } else { keep; }\nkeep;\n',
    "if-true-alone": 'if true { keep; }\nkeep;\n',
    "anyof-without-constants": 'if anyof(header :is "x" "y", exists "z") { keep; }\nelse { discard; }\n',
    "not-false-is-just-always": 'if not false { keep; }\n',
    "match-variable-inside-the-match": (
        'require ["variables", "fileinto"];\nif header :matches "subject" "[*]*" {\n'
        '  fileinto "${1}";\n} else {\n  fileinto "lists";\n}\n'),
    "match-variable-after-a-match-that-may-have-run": (
        'require ["variables", "fileinto"];\nif header :matches "subject" "*" { keep; }\n'
        'fileinto "${1}";\n'),
    "match-variable-in-else-after-an-earlier-match": (
        'require ["variables", "fileinto", "regex"];\nif header :regex "x" "(.*)" { keep; }\n'
        'if header :is "y" "z" { keep; } else { fileinto "${1}"; }\n'),
    "match-variable-in-allof-after-a-match": (
        'require ["variables"];\nif allof(header :matches "subject" "*", '
        'header :is "x" "${1}") { keep; }\n'),
    "match-variable-in-else-of-allof-with-a-match": (
        'require ["variables", "fileinto"];\n'
        'if allof(header :matches "subject" "*", header :is "x" "y") { keep; }\n'
        'else { fileinto "${1}"; }\n'),
    "named-variables-only": 'require ["variables", "fileinto"];\nset "f" "x";\nfileinto "${f}";\n',
    "good-folders": 'require "fileinto";\nfileinto "INBOX/Lists/v1.2";\nfileinto "Mail List/SL-Devel";\n',
    "folder-from-a-variable": 'require ["variables", "fileinto"];\nset "f" "";\nfileinto "${f}";\n',
    "redirect-elsewhere": 'redirect "bob@elsewhere.example";\n',
    "every-extension-used": (
        'require ["fileinto", "copy", "imap4flags", "vacation-seconds", "relational",\n'
        '         "comparator-i;ascii-numeric", "envelope", "mailbox", "body", "date"];\n'
        'if envelope :all :is "from" "x@y.z" { fileinto :copy :create :flags "\\\\Seen" "x"; }\n'
        'if header :count "ge" :comparator "i;ascii-numeric" "received" "3" { keep; }\n'
        'if body :contains "hello" { keep; }\n'
        'if currentdate :value "ge" "hour" "09" { vacation :seconds 60 "x"; }\n'),
}


@pytest.mark.parametrize("name", WARNED)
def test_a_mistake_is_reported_on_its_line(name):
    script, expected = WARNED[name]
    assert found(script) == expected


@pytest.mark.parametrize("name", CLEAN)
def test_a_close_script_without_the_mistake_gets_no_warning(name):
    assert found(CLEAN[name]) == []


@pytest.mark.usefixtures("sievec")
@pytest.mark.parametrize("script", [
    *(script for name, (script, _) in WARNED.items() if name != "variable-without-variables"),
    *CLEAN.values(),
], ids=[*(n for n in WARNED if n != "variable-without-variables"), *CLEAN])
def test_every_script_above_is_one_dovecot_accepts(script):
    # The warnings are about valid scripts: sievec would report the others itself.
    assert check_script(script) == []


def test_the_guides_second_example_reads_an_empty_match_variable_in_its_else_branch():
    script = (HERE / "guide_example_2.sieve").read_text()
    [warning] = lint_script(script, address_email=ME)
    assert (warning.line, warning.code) == (9, "unset_match_variable")
    assert script.splitlines()[8] == 'addheader "Subject" "[SL-Devel] ${1}";'
    assert warning.message == (
        "“${1}” is always empty here: no “:matches” or “:regex” test can have succeeded on "
        "the way to this line, and only a successful one fills the match variables.")
    assert warning.position == 0 and warning.rule_name == ""


def test_the_guides_first_example_is_clean():
    assert found((HERE / "guide_example_1.sieve").read_text()) == []


def test_commands_after_stop_are_reported_once_with_the_stop_line():
    [warning] = lint_script('stop;\nkeep;\ndiscard;\n', address_email=ME)
    assert warning == LintWarning(0, "", "action_after_stop", warning.message, line=2)
    assert warning.message == ("This command and the ones after it in the same block never run: "
                               "“stop” on line 1 ends the script first.")


def test_a_folder_warning_gives_the_reason_the_folder_service_gives():
    [warning] = lint_script('require "fileinto";\nfileinto "a//b";\n', address_email=ME)
    assert warning.params["reason"] == folder_errors("a//b")[0]
    assert warning.message.endswith(folder_errors("a//b")[0])


@pytest.mark.parametrize("name", ["", "a\tb", "x" * 1001, "a//b", "..", "y" * 256, "~x"])
def test_every_folder_refusal_reason_is_marked_for_translation(name):
    assert folder_errors(name)
    assert set(folder_errors(name)) <= set(FOLDER_REASONS)


def test_redirects_into_a_loop_show_the_path():
    forwards_of = {"bob@domain.xyz": {"carol@other.example"}, "carol@other.example": {ME}}
    [warning] = lint_script('redirect "bob@domain.xyz";\nredirect "bob@domain.xyz";\n',
                            address_email=ME, forwards_of=forwards_of)
    assert (warning.line, warning.code) == (1, "forward_loop")
    assert warning.params["path"] == f"{ME} → bob@domain.xyz → carol@other.example → {ME}"
    assert found('redirect "bob@domain.xyz";\n', forwards_of={"bob@domain.xyz": {"x@y.z"}}) == []


def test_an_extension_used_but_not_required_names_the_feature():
    [warning] = lint_script('require "fileinto";\nif true {\n  fileinto :copy "x";\n}\n',
                            address_email=ME)
    assert (warning.line, warning.code) == (3, "extension_not_required")
    assert warning.params == {"feature": ":copy", "extension": "copy"}
    assert found('fileinto "x";\n') == [(1, "extension_not_required")]
    assert found('if header :regex "subject" "x" { keep; }\n') == [(1, "extension_not_required")]
    # `ihave` loads extensions for its block only.
    assert found('require "ihave";\nif ihave "fileinto" { fileinto "x"; }\n') == []


def test_sieve_syntax_details_are_read_as_dovecot_reads_them():
    script = (
        '/* a comment with "quotes", { braces } and\n'
        'several lines */\n'
        'require ["vacation", "variables"]; # the same line\n'
        'vacation :subject "\\"${1}\\"" text: # a comment after text:\n'
        '..stop;\n'
        'fileinto "x";\n'
        '.\n'
        ';\n'
        'Stop;\n'
        'KEEP;\n'
    )
    assert found(script) == [(4, "unset_match_variable"), (10, "action_after_stop")]
    [require, vacation, _stop, _keep] = parse_script(script)
    assert vacation.arguments[1].value == ('"${1}"',)
    assert vacation.arguments[2].value == ('.stop;\nfileinto "x";\n',)


@pytest.mark.parametrize("script", [
    "", "if true {", "keep; }", 'elsif true { keep; }', 'keep', '"x";', 'fileinto [];',
    'vacation text:\nno end', "if (true) { keep; }", "/* open", "keep; \x00",
    "if " * 5000 + "true {" + "}" * 5000,
])
def test_a_script_that_does_not_parse_gets_no_warning(script):
    assert lint_script(script, address_email=ME) == []


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([
    "if", "elsif", "else", "true", "false", "not", "allof", "anyof", "stop", "keep",
    "fileinto", "redirect", "set", "header", ":matches", ":regex", ":copy", '"${1}"', '"a//b"',
    '"alice@domain.xyz"', '"x"', "[", "]", "(", ")", "{", "}", ";", ",", "\n",
    'require ["variables", "fileinto"];', "text:\n", ".\n", "#", "/*", "*/", "3K",
]), max_size=60))
def test_no_script_makes_the_linter_raise(parts):
    warnings = lint_script(" ".join(parts), address_email=ME)
    assert all(isinstance(w.line, int) and w.line >= 1 for w in warnings)


def test_lines_count_the_same_with_the_line_endings_a_browser_sends():
    script = (HERE / "guide_example_2.sieve").read_text().replace("\n", "\r\n")
    assert found(script) == [(9, "unset_match_variable")]

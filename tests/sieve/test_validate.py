from pathlib import Path

import pytest

from mailservice import pigeonhole
from mailservice.pigeonhole import SieveToolMissing, check_script, sievec_available
from mailservice.sieve import Action, Condition, Rule, SieveError, compile_rules, validate_rule

HERE = Path(__file__).parent
GUIDE_1 = (HERE / "guide_example_1.sieve").read_text(encoding="utf-8")
GUIDE_2 = (HERE / "guide_example_2.sieve").read_text(encoding="utf-8")


def test_sievec_is_available(sievec):
    assert sievec_available()


@pytest.mark.parametrize("script", [GUIDE_1, GUIDE_2], ids=["fileinto", "editheader"])
def test_both_guide_examples_are_valid_with_editheader(sievec, script):
    assert check_script(script) == []
    assert check_script(script, extensions=("+editheader",)) == []


def test_editheader_is_off_unless_enabled(sievec):
    errors = check_script(GUIDE_2, extensions=())
    assert errors[0].line == 1
    assert "editheader" in errors[0].message


def test_a_broken_script_reports_the_right_line(sievec):
    script = 'require ["fileinto"];\n\nif header :contains "subject" "x" {\n    fileinto "a"\n}\n'
    errors = check_script(script)
    assert len(errors) == 1
    assert errors[0].line == 5  # the missing ";" is found at the "}" of line 5
    assert errors[0].column == 1
    assert "found '}'" in errors[0].message


def test_every_error_is_reported_with_its_line_and_a_column_when_findable(sievec):
    script = 'require "fileinto";\nkeep;\nfoo "x";\nif header :bar "a" "b" { keep; }\n'
    errors = check_script(script)
    assert [(e.line, e.column) for e in errors] == [(3, 1), (4, 11)]
    assert "unknown command 'foo'" in errors[0].message
    assert str(errors[1]).startswith("line 4, column 11: unknown tagged argument ':bar'")


def test_runtime_checked_constants_are_caught_at_compile_time(sievec):
    errors = check_script('require "regex";\nif header :regex "subject" "(" { stop; }\n')
    assert errors[0].line == 2
    assert "regular expression" in errors[0].message
    assert check_script('redirect "not an address";') != []


def test_a_python_valid_regex_that_posix_refuses_is_caught_on_the_compiled_script(sievec):
    rule = Rule(
        "lookahead",
        conditions=(Condition("subject", "regex", "(?i)invoice"),),
        actions=(Action("stop"),),
    )
    assert validate_rule(rule) == {}  # Python's re accepts it: only a sanity check
    errors = check_script(compile_rules([rule]).text)
    assert errors and errors[0].line == 5


def test_uploaded_bytes_must_be_utf8():
    assert check_script(b"keep;\n# caf\xe9\n") == [
        SieveError(2, 6, "the script is not valid UTF-8 text")
    ]


def test_an_unterminated_comment_is_a_script_error(sievec):
    errors = check_script("keep;\n/* no end")
    assert errors[0].line == 2


def test_an_empty_script_is_valid(sievec):
    assert check_script("") == []


def test_missing_sievec_raises_a_clear_error(monkeypatch):
    monkeypatch.setattr(pigeonhole.shutil, "which", lambda *args, **kwargs: None)
    assert not sievec_available()
    with pytest.raises(SieveToolMissing, match="sievec"):
        check_script("keep;")


def test_extension_settings_cannot_smuggle_arguments():
    with pytest.raises(ValueError):
        check_script("keep;", extensions=("+editheader -c /etc/passwd",))

"""Every script is run by Dovecot's own engine before it is accepted: a script that compiles
but makes the engine abort when it compares a header (all delivery to the address would be
deferred) is refused, and the standard-rule compiler never writes one."""
import pytest

from mailservice import services
from mailservice.models import Address, SortingRule
from mailservice.sieve.compiler import compile_rules, matches_key
from mailservice.sieve.probe_messages import probe_messages
from mailservice.sieve.rules import rule_from_dict

pytestmark = pytest.mark.django_db

# Values whose backslashes end a :matches key in every way a person can type them.
BACKSLASHED = ["abc\\", "\\", "a\\\\\\", "*\\", "?\\", "x\\*\\", "é\\"]


def matches_rule(value):
    return {"name": "pattern", "conditions": [{"field": "subject", "operator": "matches",
                                               "value": value}],
            "actions": [{"kind": "move", "argument": "Patterns"}]}


def subject_matching(pattern):
    """A subject the pattern matches: `\\c` is c, a final lone backslash is itself."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(pattern[i + 1])
            i += 2
            continue
        out.append({"*": "anything", "?": "x"}.get(ch, ch))
        i += 1
    return "".join(out)


@pytest.mark.parametrize("value", BACKSLASHED)
def test_a_matches_key_never_ends_in_a_lone_backslash(value):
    key = matches_key(value)
    trailing = len(key) - len(key.rstrip("\\"))
    assert trailing % 2 == 0 and key.startswith(value)


@pytest.mark.usefixtures("sieve_test")
@pytest.mark.parametrize("value", BACKSLASHED)
def test_such_rules_are_saved_and_the_engine_sorts_with_them(api, owner, alice, value):
    client = api(owner)
    response = client.post(f"/api/v1/addresses/{alice.pk}/rules/", matches_rule(value), format="json")
    assert response.status_code == 201, response.content
    literal = subject_matching(value)
    message = (f"From: a@example.org\r\nTo: alice@domain.xyz\r\nSubject: {literal}\r\n"
               f"Message-ID: <p@example.org>\r\n\r\nhi\r\n").encode()
    from django.core.files.uploadedfile import SimpleUploadedFile

    result = client.post(f"/api/v1/addresses/{alice.pk}/rules/test/",
                         {"message": SimpleUploadedFile("m.eml", message)}, format="multipart")
    assert result.status_code == 200, result.content
    assert result.json()["folders"] == ["Patterns"]


@pytest.mark.usefixtures("sieve_test")
def test_an_advanced_script_the_engine_aborts_on_is_refused_and_not_saved(api, owner, alice):
    script = 'require "fileinto";\nif header :matches "subject" "abc\\\\" { fileinto "x"; }\n'
    response = api(owner).put(f"/api/v1/addresses/{alice.pk}/sieve/",
                              {"mode": "advanced", "script": script}, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_sieve" and "engine stops on this script" in error["message"]
    alice.refresh_from_db()
    assert alice.sieve_mode == Address.SieveMode.STANDARD and alice.sieve_script == ""


@pytest.mark.usefixtures("sieve_test")
def test_the_rule_that_makes_the_engine_fail_is_named(owner, alice, monkeypatch):
    """The compiler no longer writes such a key; were it to, the save names the rule."""
    from mailservice.sieve import compiler

    monkeypatch.setattr(compiler, "matches_key", lambda value: value)
    services.rule_create(actor=owner, address=alice, **matches_rule("fine*"))
    with pytest.raises(services.invalid_sieve([]).__class__) as refused:
        services.rule_create(actor=owner, address=alice, **(matches_rule("abc\\") | {"name": "Bad"}))
    assert refused.value.code == "invalid_sieve"
    assert refused.value.message.startswith("Rule 2 (“Bad”)")
    assert SortingRule.objects.filter(address=alice).count() == 1


def test_probe_messages_hold_every_header_the_rules_compare():
    rules = [rule_from_dict({"name": "r", "match": "any", "conditions": [
        {"field": "from", "operator": "contains", "value": "boss@corp.example"},
        {"field": "reply_to", "operator": "is", "value": "x@y.example"},
        {"field": "cc", "operator": "matches", "value": "*@team.example"},
        {"field": "body", "operator": "contains", "value": "urgent"},
        {"field": "email_type", "operator": "is", "value": "spam"}],
        "actions": [{"kind": "move", "argument": "x"}]})]
    ordinary, targeted = probe_messages(rules, email_type_header="X-Mail-Type")
    assert b"Reply-To:" in ordinary and b"X-Mail-Type:" in ordinary
    for expected in (b"boss@corp.example", b"x@y.example", b"*@team.example", b"urgent",
                     b"X-Mail-Type: spam"):
        assert expected in targeted
    assert compile_rules(rules, email_type_header="X-Mail-Type").text  # they also compile


def test_an_auto_reply_the_engine_refuses_is_not_saved(api, owner, alice, monkeypatch):
    """The auto-reply is part of the script that runs at delivery: it is proven too."""
    from mailservice.services import rules as rule_services
    from mailservice.sieve import SieveError

    seen = []

    def engine(text, messages):
        seen.append(text)
        return (SieveError(None, None, "Dovecot's Sieve engine stops on this script"),)

    monkeypatch.setattr(rule_services, "check_script", lambda text: [])
    monkeypatch.setattr(rule_services, "_engine_errors", engine)
    response = api(owner).patch(f"/api/v1/addresses/{alice.pk}/", {
        "autoreply_enabled": True, "autoreply_subject": "Away", "autoreply_body": "Back soon"},
        format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_sieve"
    assert "vacation" in seen[0] and "Back soon" in seen[0]
    alice.refresh_from_db()
    assert not alice.autoreply_enabled
    assert api(owner).patch(f"/api/v1/addresses/{alice.pk}/", {"display_name": "A"},
                            format="json").status_code == 200  # other fields: no engine run
    assert len(seen) == 1


# Every way an advanced script can compare a header the ordinary probe lacks.
HIDDEN_HEADER_SCRIPTS = [
    'if header :matches "x-foo" "abc\\\\" { keep; }',
    'if header :matches ["X-Spam-Flag", "x-other"] ["xyz", "abc\\\\"] { keep; }',
    'if anyof (false, not header :matches "X-Priority" "\\\\") { keep; }',
    'if allof (true, header :comparator "i;ascii-casemap" :matches "x-list" "*\\\\") { keep; }',
    'if address :all :matches "sender" "abc\\\\" { keep; }',
    'if true { if header :matches "x-deep" "a\\\\" { keep; } }',
]


@pytest.mark.usefixtures("sieve_test")
@pytest.mark.parametrize("test", HIDDEN_HEADER_SCRIPTS)
def test_an_advanced_script_comparing_a_header_probes_lack_is_refused(api, owner, alice, test):
    """The probes carry every header the script's own tests name: the pattern is compared,
    the engine aborts here and not at delivery."""
    response = api(owner).put(f"/api/v1/addresses/{alice.pk}/sieve/",
                              {"mode": "advanced", "script": test + "\n"}, format="json")
    assert response.status_code == 400, response.content
    assert "engine stops on this script" in response.json()["error"]["message"]
    alice.refresh_from_db()
    assert alice.sieve_mode == Address.SieveMode.STANDARD


def test_script_probes_hold_the_headers_and_keys_the_script_names():
    from mailservice.sieve.probe_messages import probe_messages_for_script

    script = ('require ["body", "date", "relational"];\n'
              'if anyof (header :contains ["X-Spam", "subject"] "viagra",\n'
              '          exists "X-Loop", body :contains "unsubscribe",\n'
              '          date :value "ge" "x-sent" "year" "2026",\n'
              '          header :is "${name}" "v", header :is "bad name" "v") { discard; }\n')
    ordinary, targeted = probe_messages_for_script(script, email_type_header="X-Mail-Type")
    for name in (b"X-Spam:", b"X-Loop:", b"x-sent:", b"Subject:"):
        assert name in ordinary and name in targeted
    assert b"Subject: An ordinary message" in ordinary
    for key in (b"X-Spam: viagra", b"Subject: viagra", b"unsubscribe", b"x-sent: 2026"):
        assert key in targeted
    assert b"${name}" not in ordinary + targeted and b"bad name" not in ordinary + targeted
    assert ordinary.count(b"Message-ID:") == 1
    assert probe_messages_for_script("if {", email_type_header="X") == probe_messages_for_script(
        "", email_type_header="X")

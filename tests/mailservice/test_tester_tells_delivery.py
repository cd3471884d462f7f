"""The tester tells what delivery will do: which keep stored the message, which tests the
advanced script evaluated and whether `stop` ran, whether a vacation would be answered
(and to whom, from whom, with which subject and period), and the environment it cannot
reproduce — in the API and on the page."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mailservice import services

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sieve_test")]


def message(*headers: str, to="alice@domain.xyz") -> bytes:
    lines = ["Return-Path: <bob@example.org>", "From: Bob <bob@example.org>", f"To: {to}",
             "Subject: lunch", "Message-ID: <m@example.org>", *headers]
    return ("\r\n".join(lines) + "\r\n\r\nhello\r\n").encode()


def advanced(owner, alice, script):
    services.sieve_set(actor=owner, address=alice, mode="advanced", script=script)


def run(api, owner, alice, raw=None):
    response = api(owner).post(f"/api/v1/addresses/{alice.pk}/rules/test/",
                               {"message": SimpleUploadedFile("m.eml", raw or message())},
                               format="multipart")
    assert response.status_code == 200, response.content
    return response.json()


def page(client, owner, alice, raw=None):
    client.force_login(owner)
    response = client.post(f"/mail/addresses/{alice.pk}/rules/test/",
                           {"message": SimpleUploadedFile("m.eml", raw or message())})
    assert response.status_code == 200
    return response.content.decode()


def test_a_rule_that_only_flags_leaves_the_implicit_keep(api, client, owner, alice):
    services.rule_create(actor=owner, address=alice, name="flag", actions=[{"kind": "flag"}],
                         conditions=[{"field": "from", "operator": "contains", "value": "bob"}])
    result = run(api, owner, alice)
    assert [(a["target"], a["keep"], a["flags"]) for a in result["final_actions"]] == [
        ("INBOX", "implicit", ["\\Flagged"])]
    assert "Kept in INBOX (no rule filed it elsewhere)" in page(client, owner, alice)


def test_the_scripts_keep_is_explicit(api, client, owner, alice):
    advanced(owner, alice, 'require "fileinto";\nfileinto "Archive";\nkeep;\n')
    result = run(api, owner, alice)
    assert [(a["target"], a["keep"]) for a in result["final_actions"]] == [
        ("Archive", None), ("INBOX", "explicit")]
    assert "Kept in INBOX by the script's keep" in page(client, owner, alice)


def test_advanced_mode_shows_each_test_and_the_stop(api, client, owner, alice):
    advanced(owner, alice, 'require "fileinto";\n'
                           'if header :contains "subject" "invoice" { fileinto "Bills"; }\n'
                           'if not address :domain :is "from" "spam.example" {\n'
                           '  fileinto "Known"; stop;\n}\nfileinto "Never";\n')
    result = run(api, owner, alice)
    assert result["trace"] == {"steps": [{"line": 2, "test": "header", "matched": False},
                                         {"line": 3, "test": "address", "matched": False}],
                               "stopped": 4}
    assert result["folders"] == ["Known"]
    html = page(client, owner, alice)
    assert "“stop” on line 4 ended the script." in html and 'id="trace-steps"' in html


VACATION = ('require ["vacation"];\n'
            'vacation :days 3 :subject "Away" :addresses ["al@domain.xyz"] "Back on Monday.";\n')


def test_a_vacation_to_mail_addressed_to_me_would_be_sent(api, client, owner, alice):
    advanced(owner, alice, VACATION)
    vacation = run(api, owner, alice)["vacation"]
    assert {k: vacation[k] for k in ("send", "reason", "to", "from", "subject",
                                     "interval_seconds", "addresses", "body")} == {
        "send": True, "reason": "addressed", "to": "bob@example.org",
        "from": "alice@domain.xyz", "subject": "Away", "interval_seconds": 259200,
        "addresses": ["al@domain.xyz"], "body": "Back on Monday."}
    assert "3 days" in vacation["once_per"]
    html = page(client, owner, alice)
    assert "Would be sent." in html and "Back on Monday." in html


@pytest.mark.parametrize(("raw", "reason"), [
    (message("List-Id: <dev.lists.example>"), "mailing_list"),
    (message("Auto-Submitted: auto-generated"), "auto_submitted"),
    (message("Precedence: junk"), "precedence"),
    (message(to="team@example.org"), "not_addressed"),
    (message(to="Al <al@domain.xyz>"), "addressed"),
    (message().replace(b"Return-Path: <bob@example.org>", b"Return-Path: <>"), "no_sender"),
    (message().replace(b"bob@example.org", b"MAILER-DAEMON@example.org"), "system_address"),
])
def test_the_vacation_decision_is_delivery_s(api, owner, alice, raw, reason):
    advanced(owner, alice, VACATION)
    vacation = run(api, owner, alice, raw)["vacation"]
    assert vacation["reason"] == reason and vacation["send"] is (reason == "addressed")


def test_the_auto_reply_of_standard_mode_shows_its_decision(api, owner, alice):
    services.address_update(actor=owner, address=alice, autoreply_enabled=True,
                            autoreply_subject="Holidays", autoreply_body="Away.")
    vacation = run(api, owner, alice)["vacation"]
    assert (vacation["send"], vacation["reason"], vacation["subject"]) == (
        True, "addressed", "Holidays")
    # The standard script itself leaves list mail alone: no vacation action at all.
    listed = run(api, owner, alice, message("List-Id: <x.lists.example>"))
    assert listed["vacation"] is None
    assert not any(a["kind"] == "vacation" for a in listed["final_actions"])


def test_the_environment_difference_is_stated_and_warned_about(api, client, owner, alice):
    advanced(owner, alice, 'require ["fileinto"];\nfileinto "Any";\n')
    quiet = run(api, owner, alice)["environment"]
    assert quiet == {"tester": {"phase": "post", "location": "MS"},
                     "delivery": {"phase": "during", "location": "MDA"},
                     "script_uses_environment": False, "warning": ""}
    advanced(owner, alice, 'require ["environment", "fileinto"];\n'
                           'if environment :is "phase" "during" { fileinto "Live"; }\n')
    result = run(api, owner, alice)
    assert result["environment"]["script_uses_environment"] is True
    assert "phase “during”" in result["environment"]["warning"]
    # sieve-test runs "post": the difference is real, and stated rather than hidden.
    assert result["folders"] == ["INBOX"]
    assert 'id="environment-warning"' in page(client, owner, alice)


@pytest.mark.parametrize("folders, missing, checked", [
    (["INBOX", "Archive"], [], True), (["INBOX", "archive"], [], True),
    (["INBOX"], ["Archive"], True), (None, [], False)])
def test_a_folder_the_mailbox_lacks_is_stated(api, client, owner, alice, monkeypatch, folders,
                                              missing, checked):
    """sieve-test files into any folder; delivery cannot file into a missing one without
    `:create`, and keeps the message in INBOX: the result says which, from the backend."""
    from mailservice.services import rule_tester

    monkeypatch.setattr(rule_tester, "folders_in_mailbox", lambda address: folders)
    advanced(owner, alice, 'require "fileinto";\nfileinto "Archive";\n')
    result = run(api, owner, alice)
    assert (result["missing_folders"], result["folders_checked"]) == (missing, checked)
    html = page(client, owner, alice)
    assert ("has no folder “Archive”" in html) is bool(missing)
    assert ("could not be asked" in html) is not checked


def test_standard_rules_create_their_folders_so_none_is_missing(api, owner, alice, monkeypatch):
    from mailservice.services import rule_tester

    monkeypatch.setattr(rule_tester, "folders_in_mailbox", lambda address: ["INBOX"])
    services.rule_create(actor=owner, address=alice, name="m", actions=[
        {"kind": "move", "argument": "New"}], conditions=[{"field": "from", "operator": "exists"}])
    result = run(api, owner, alice)
    assert result["folders"] == ["New"] and result["missing_folders"] == []

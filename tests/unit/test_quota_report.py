"""The pure quota parts: doveadm's JSON report read into figures (rows recorded from
Dovecot 2.3.19), the Dovecot settings, and the warning script run with a stand-in doveadm."""
import os
import subprocess
from pathlib import Path

import pytest

from mailservice.backends.quota import (
    EXCEEDED_MESSAGE,
    QuotaUsage,
    parse_quota_report,
    postfix_quota_status_check,
    render_dovecot_quota_conf,
    render_dovecot_quota_status_conf,
    render_quota_warning_script,
    used_mb,
)

# doveadm -f json quota get -A (two users, the second without a limit)
ALL_USERS = [
    {"username": "a@q.test", "root": "User quota", "type": "STORAGE", "value": "979",
     "limit": "1024", "percent": "95"},
    {"username": "a@q.test", "root": "User quota", "type": "MESSAGE", "value": "6",
     "limit": "-", "percent": "0"},
    {"username": "b@q.test", "root": "User quota", "type": "STORAGE", "value": "0",
     "limit": "-", "percent": "0"},
    {"username": "b@q.test", "root": "User quota", "type": "MESSAGE", "value": "0",
     "limit": "-", "percent": "0"},
]
# doveadm -f json quota get -u c@q.test: one user asked for, no username in the rows
ONE_USER = [
    {"root": "User quota", "type": "STORAGE", "value": "0", "limit": "5120", "percent": "0"},
    {"root": "User quota", "type": "MESSAGE", "value": "0", "limit": "-", "percent": "0"},
]


def test_the_report_gives_each_users_storage_in_kilobytes():
    assert parse_quota_report(ALL_USERS) == {
        "a@q.test": QuotaUsage(used_kb=979, limit_kb=1024),
        "b@q.test": QuotaUsage(used_kb=0, limit_kb=None)}


def test_a_single_users_rows_are_named_by_the_caller():
    assert parse_quota_report(ONE_USER, user="C@q.test") == {
        "c@q.test": QuotaUsage(used_kb=0, limit_kb=5120)}
    assert parse_quota_report(ONE_USER) == {}


def test_rows_that_are_not_numbers_are_skipped_not_guessed():
    rows = [{"username": "a@q.test", "type": "STORAGE", "value": "error", "limit": "10"},
            {"username": "b@q.test", "type": "STORAGE", "value": "5", "limit": "lots"},
            {"username": "c@q.test", "type": "STORAGE", "value": "5", "limit": "0"}]
    assert parse_quota_report(rows) == {"c@q.test": QuotaUsage(used_kb=5, limit_kb=None)}


def test_with_several_quota_roots_the_fullest_one_counts():
    rows = [{"username": "a@q.test", "root": "User quota", "type": "STORAGE", "value": "10",
             "limit": "1000"},
            {"username": "a@q.test", "root": "Archive", "type": "STORAGE", "value": "90",
             "limit": "100"},
            {"username": "a@q.test", "root": "Other", "type": "STORAGE", "value": "999",
             "limit": "-"}]
    assert parse_quota_report(rows) == {"a@q.test": QuotaUsage(used_kb=90, limit_kb=100)}


def test_used_space_is_stored_in_megabytes_to_a_hundredth():
    assert used_mb(979) == 0.96
    assert used_mb(0) == 0
    assert used_mb(10 * 1024 * 1024) == 10240


def test_the_dovecot_settings_refuse_mail_over_quota_and_warn_near_it(tmp_path):
    conf = render_dovecot_quota_conf(warning_script=tmp_path / "warn.sh")
    assert "quota_full_tempfail = no" in conf
    assert f"quota_exceeded_message = {EXCEEDED_MESSAGE}" in conf
    assert "lmtp_rcpt_check_quota = yes" in conf
    assert "quota_warning = storage=90%% quota-warning 90 %u" in conf
    assert f"executable = script {tmp_path / 'warn.sh'}" in conf
    assert "mode = 0666" in conf  # no system user to own the socket

    conf = render_dovecot_quota_conf(warning_script=tmp_path / "warn.sh", warning_percent=80,
                                     full_tempfail=True, listener_user="vmail")
    assert "quota_full_tempfail = yes" in conf
    assert "quota_warning = storage=80%% quota-warning 80 %u" in conf
    assert "user = vmail\n    mode = 0600" in conf
    for percent in (0, 100):
        with pytest.raises(ValueError):
            render_dovecot_quota_conf(warning_script=tmp_path / "warn.sh", warning_percent=percent)


def test_the_quota_status_service_refuses_what_does_not_fit_and_leaves_the_rest_to_postfix():
    conf = render_dovecot_quota_status_conf(listener="quota-status")
    assert f'quota_status_overquota = "552 5.2.2 {EXCEEDED_MESSAGE}"' in conf
    # DUNNO, not OK: Postfix's later recipient checks still run; an alias is no mailbox.
    assert "quota_status_success = DUNNO" in conf and "quota_status_nouser = DUNNO" in conf
    assert "executable = quota-status -p postfix" in conf
    assert "unix_listener quota-status {\n    user = postfix\n    group = postfix\n" \
        "    mode = 0660" in conf
    tempfail = render_dovecot_quota_status_conf(listener="/run/q", listener_user="pf",
                                                full_tempfail=True)
    assert f'quota_status_overquota = "452 4.2.2 {EXCEEDED_MESSAGE}"' in tempfail
    assert "unix_listener /run/q {\n    user = pf\n" in tempfail


def test_postfix_asks_the_quota_status_service_and_fails_open():
    check = postfix_quota_status_check("/run/dovecot/quota-status")
    assert check == ("check_policy_service { unix:/run/dovecot/quota-status, "
                     "default_action=DUNNO, timeout=10s }")


def test_the_warning_script_saves_a_notice_in_the_users_inbox(tmp_path):
    """Run as Dovecot runs it (PERCENT USER), with a doveadm that records what it gets."""
    record = tmp_path / "record"
    fake = tmp_path / "bin dir" / "doveadm"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\nfor a in "$@"; do echo "arg:$a"; done > "{record}"\n'
                    f'cat >> "{record}"\n')
    fake.chmod(0o755)
    script = tmp_path / "warn.sh"
    script.write_text(render_quota_warning_script(
        doveadm=str(fake), dovecot_conf=Path("/etc/my dovecot/dovecot.conf"),
        sender="postmaster@example.net"))
    script.chmod(0o755)
    subprocess.run([str(script), "90", "alice@domain.xyz"], check=True, timeout=10,
                   env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    text = record.read_text()
    args = [line[4:] for line in text.splitlines() if line.startswith("arg:")]
    assert args == ["-c", "/etc/my dovecot/dovecot.conf", "-o", "plugin/mail_log_events=",
                    "-o", "plugin/quota=count:User quota:noenforcing",
                    "save", "-u", "alice@domain.xyz", "-m", "INBOX"]
    assert "To: <alice@domain.xyz>" in text
    assert "From: Mail service <postmaster@example.net>" in text
    assert "Auto-Submitted: auto-generated" in text  # never answered by an auto-reply
    assert "has used 90 % of its storage quota" in text
    assert "a utilisé 90 % de son quota" in text


def test_a_user_name_cannot_inject_commands_into_the_warning(tmp_path):
    record = tmp_path / "record"
    fake = tmp_path / "doveadm"
    fake.write_text(f'#!/bin/sh\ncat > "{record}"\n')
    fake.chmod(0o755)
    script = tmp_path / "warn.sh"
    script.write_text(render_quota_warning_script(doveadm=str(fake), dovecot_conf=tmp_path / "c",
                                                  sender="postmaster@example.net"))
    script.chmod(0o755)
    marker = tmp_path / "pwned"
    subprocess.run([str(script), "90", f"$(touch {marker})@x.test"], check=True, timeout=10)
    assert not marker.exists()
    assert f"$(touch {marker})@x.test" in record.read_text()

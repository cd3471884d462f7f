"""The pure parts of the mail backend adapter: lookup rows and configs, validation, drift()."""

import hashlib

import pytest

from mailservice.backends.base import (
    BackendError,
    DevicePasswordState,
    ForwardState,
    MailboxState,
    ServiceState,
    drift,
)
from mailservice.backends.dovecot_postfix import DovecotPostfixBackend, DovecotPostfixConfig
from mailservice.backends.render import (
    DISABLED_REPLY,
    MAP_TABLES,
    POSTFIX_LOOKUPS,
    map_faults,
    normalize,
    render_dovecot_sql_conf,
    render_map_rows,
    render_postfix_lookup,
    render_postfix_map_settings,
)

D = "example.test"


def token(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def box(local: str, *, enabled: bool = True, quota: int = 0, sieve: str | None = None):
    return MailboxState(email=f"{local}@{D}", enabled=enabled, quota_mb=quota, sieve_script=sieve)


def service(**kwargs) -> ServiceState:
    defaults = {
        "domain": D,
        "mailboxes": (box("alice"), box("bob"), box("catch"), box("gone", enabled=False)),
        "forwards": (
            ForwardState(f"info@{D}", (f"bob@{D}", f"alice@{D}")),
            ForwardState(f"alice@{D}", (f"alice@{D}", "alice@elsewhere.test")),
        ),
        "device_passwords": (
            DevicePasswordState("ref-1", f"alice@{D}", token("a1"), True),
            DevicePasswordState("ref-2", f"catch@{D}", token("c1"), False),
        ),
        "catchall": f"catch@{D}",
    }
    defaults.update(kwargs)
    return ServiceState(**defaults)


def test_every_table_is_rendered_and_the_domain_listed_once():
    rows = render_map_rows(service())
    assert set(rows) == set(MAP_TABLES)
    assert rows["domains"] == ((D,),)


def test_every_mailbox_has_a_row_saying_whether_it_receives_mail():
    # The disabled one keeps its row: its identity keeps it out of the catchall and the
    # "disabled" lookup refuses it at RCPT.
    assert render_map_rows(service())["mailboxes"] == (
        (f"alice@{D}", 1), (f"bob@{D}", 1), (f"catch@{D}", 1), (f"gone@{D}", 0))


def test_catchall_is_an_alias_row_of_the_domain():
    assert (f"@{D}", f"catch@{D}") in render_map_rows(service())["aliases"]


def test_disabled_catchall_catches_nothing():
    state = service(
        mailboxes=(box("alice"), box("catch", enabled=False)), forwards=(), device_passwords=()
    )
    assert render_map_rows(state)["aliases"] == ()


def test_no_catchall_row_without_catchall():
    aliases = render_map_rows(service(catchall=None))["aliases"]
    assert not any(source.startswith("@") for source, _ in aliases)


def test_forwards_have_one_row_per_target_and_a_copy_keeps_the_source():
    aliases = render_map_rows(service())["aliases"]
    assert (f"alice@{D}", f"alice@{D}") in aliases
    assert (f"alice@{D}", "alice@elsewhere.test") in aliases
    assert {(f"info@{D}", f"alice@{D}"), (f"info@{D}", f"bob@{D}")} <= set(aliases)
    assert len(aliases) == 5


def test_sender_logins_are_each_enabled_mailbox_but_the_catchall_and_the_mailboxes_behind_its_aliases():
    state = service(forwards=(
        ForwardState(f"info@{D}", (f"bob@{D}", f"gone@{D}", "x@elsewhere.test", f"catch@{D}")),
        # A redirection: alice's mail also goes to bob, but bob does not own alice.
        ForwardState(f"alice@{D}", (f"alice@{D}", f"bob@{D}")),
    ))
    assert state.catchall == f"catch@{D}"
    assert render_map_rows(state)["sender_logins"] == (
        (f"alice@{D}", f"alice@{D}"),
        (f"bob@{D}", f"bob@{D}"),
        (f"info@{D}", f"bob@{D}"),
    )


def test_sender_grants_add_rows_but_never_for_the_catchall_or_a_disabled_mailbox():
    state = service(sender_grants=(
        (f"bob@{D}", f"alice@{D}"), (f"catch@{D}", f"alice@{D}"), (f"gone@{D}", f"alice@{D}"),
        (f"alice@{D}", f"catch@{D}"),
    ))
    rows = render_map_rows(state)["sender_logins"]
    assert (f"bob@{D}", f"alice@{D}") in rows
    assert not {row for row in rows if f"catch@{D}" in row or row[0] == f"gone@{D}"}


def test_a_sender_grant_naming_an_address_outside_the_service_is_invalid():
    with pytest.raises(ValueError, match="not an address of"):
        normalize(service(sender_grants=((f"bob@{D}", "alice@elsewhere.test"),)))


def test_drift_sees_a_sender_grant_missing_or_unexpected():
    want = service(sender_grants=((f"bob@{D}", f"alice@{D}"),))
    assert drift(want, service()) == [f"sender bob@{D}: login alice@{D} missing"]
    assert drift(service(), want) == [f"sender bob@{D}: login alice@{D} unexpected"]


def test_rendering_is_deterministic_and_order_insensitive():
    state = service()
    shuffled = service(
        mailboxes=tuple(reversed(state.mailboxes)),
        forwards=tuple(
            ForwardState(f.source, tuple(reversed(f.targets))) for f in reversed(state.forwards)
        ),
        device_passwords=tuple(reversed(state.device_passwords)),
    )
    assert render_map_rows(state) == render_map_rows(shuffled)


def test_addresses_are_lowercased():
    state = service(
        domain="Example.TEST",
        mailboxes=(box("Alice"),),
        forwards=(ForwardState(f"Info@{D}", (f"ALICE@{D}",)),),
        device_passwords=(),
        catchall=f"ALICE@{D}",
    )
    rows = render_map_rows(state)
    assert rows["mailboxes"] == ((f"alice@{D}", 1),)
    assert rows["aliases"] == ((f"@{D}", f"alice@{D}"), (f"info@{D}", f"alice@{D}"))


@pytest.mark.parametrize(
    "change, message",
    [
        ({"domain": "not a domain"}, "invalid domain"),
        ({"mailboxes": (box("alice"), box("alice"))}, "listed twice"),
        ({"mailboxes": (MailboxState("x@other.test", True, 0, None),)}, "not an address of"),
        ({"mailboxes": (MailboxState(f"a b@{D}", True, 0, None),)}, "not an address of"),
        ({"mailboxes": (MailboxState(f"*@{D}", True, 0, None),)}, "not an address of"),
        ({"catchall": f"nobody@{D}"}, "not a mailbox"),
        ({"forwards": (ForwardState(f"x@{D}", ()),)}, "no target"),
        ({"forwards": (ForwardState(f"x@{D}", ("a,b@x.test",)),)}, "not a valid address"),
        (
            {"device_passwords": (DevicePasswordState("r", f"nobody@{D}", token("x"), True),)},
            "unknown mailbox",
        ),
        (
            {"device_passwords": (DevicePasswordState("r", f"alice@{D}", "plaintext", True),)},
            "not a hex SHA-256",
        ),
    ],
)
def test_invalid_states_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        normalize(service(**change))


def test_map_faults_name_unexpected_and_missing_rows():
    want = render_map_rows(service())
    have = dict(want)
    have["aliases"] = (*want["aliases"], (f"evil@{D}", "thief@outside.test"))
    have["mailboxes"] = tuple(r for r in want["mailboxes"] if r[0] != f"gone@{D}")
    assert map_faults(want, have) == [
        f"mailboxes: missing row 'gone@{D} disabled'",
        f"aliases: unexpected row 'evil@{D} thief@outside.test'",
    ]
    assert map_faults(want, want) == []
    assert map_faults({}, {}) == []


def test_postfix_lookups_use_the_drivers_aggregate_and_connection():
    sqlite = render_postfix_lookup("aliases", driver="sqlite", connection={"dbpath": "/m/x.db"})
    assert "dbpath = /m/x.db\n" in sqlite
    assert ("query = SELECT group_concat(target, ',') FROM aliases WHERE source = '%s' "
            "HAVING count(*) > 0\n") in sqlite
    pgsql = render_postfix_lookup("sender_logins", driver="pgsql", connection={
        "hosts": "inet:127.0.0.1:5432", "user": "postfix_ro", "dbname": "maps"})
    assert "hosts = inet:127.0.0.1:5432\nuser = postfix_ro\ndbname = maps\n" in pgsql
    assert "SELECT string_agg(login, ',') FROM sender_logins WHERE sender = '%s'" in pgsql
    disabled = render_postfix_lookup("disabled", driver="sqlite", connection={})
    assert f"SELECT '{DISABLED_REPLY}' FROM mailboxes" in disabled


def test_main_cf_settings_search_aliases_before_identities():
    settings = render_postfix_map_settings({name: f"t:{name}" for name in POSTFIX_LOOKUPS})
    assert "virtual_alias_maps = t:aliases, t:identities\n" in settings
    assert "smtpd_recipient_restrictions = check_recipient_access t:disabled\n" in settings
    assert "smtpd_sender_login_maps = t:sender_logins\n" in settings


def test_main_cf_recipient_checks_follow_the_disabled_check_in_one_parameter():
    settings = render_postfix_map_settings({name: f"t:{name}" for name in POSTFIX_LOOKUPS},
                                           ("check_policy_service unix:/q",))
    assert ("smtpd_recipient_restrictions = check_recipient_access t:disabled, "
            "check_policy_service unix:/q\n") in settings
    assert settings.count("smtpd_recipient_restrictions") == 1


def test_sql_conf_checks_the_password_in_the_where_clause():
    conf = render_dovecot_sql_conf("/srv/users.sqlite3")
    assert "connect = /srv/users.sqlite3" in conf
    assert "token_sha256 = '%{sha256:password}'" in conf
    assert "'Y' AS nopassword" in conf
    assert "NOT IN ('smtp', 'submission')" in conf


# drift ------------------------------------------------------------------------------


def test_equal_states_have_no_drift():
    assert drift(service(), service()) == []


def test_drift_ignores_order_and_address_case():
    state = service()
    other = service(
        mailboxes=tuple(reversed(state.mailboxes)),
        forwards=tuple(
            ForwardState(f.source.upper(), tuple(t.upper() for t in reversed(f.targets)))
            for f in state.forwards
        ),
        device_passwords=tuple(reversed(state.device_passwords)),
        catchall=f"CATCH@{D}",
    )
    assert drift(state, other) == []


def test_drift_names_each_difference():
    desired = service()
    actual = service(
        mailboxes=(
            box("alice", quota=10),
            box("bob", sieve="keep;"),
            box("catch", enabled=False),
            box("extra"),
        ),
        forwards=(ForwardState(f"info@{D}", (f"bob@{D}",)),),
        device_passwords=(DevicePasswordState("ref-1", f"alice@{D}", token("other"), False),),
        catchall=None,
        faults=("virtual_aliases: unexpected line 'x@example.test y@z.test'",),
    )
    assert drift(desired, actual) == [
        f"mailbox gone@{D}: missing",
        f"mailbox extra@{D}: unexpected",
        f"mailbox alice@{D}: quota is 10 MB, want 0 MB",
        f"mailbox bob@{D}: unexpected active sieve script",
        f"mailbox catch@{D}: enabled is False, want True",
        f"forward alice@{D}: missing",
        f"forward info@{D}: targets are bob@{D}, want alice@{D}, bob@{D}",
        f"device password ref-2 (catch@{D}): missing",
        "device password ref-1: token differs",
        "device password ref-1: can_send is False, want True",
        f"catchall is none, want catch@{D}",
        "backend: virtual_aliases: unexpected line 'x@example.test y@z.test'",
    ]


def test_drift_does_not_reveal_token_hashes():
    desired = service()
    actual = service(
        device_passwords=(
            DevicePasswordState("ref-1", f"alice@{D}", token("other"), True),
            desired.device_passwords[1],
        )
    )
    (message,) = drift(desired, actual)
    assert token("a1") not in message and token("other") not in message


def test_sieve_script_changes_are_drift():
    desired = service(
        mailboxes=(box("alice", sieve="keep;\n"),), device_passwords=(), catchall=None
    )
    assert drift(
        desired, service(mailboxes=(box("alice"),), device_passwords=(), catchall=None)
    ) == [f"mailbox alice@{D}: sieve script missing"]
    changed = service(
        mailboxes=(box("alice", sieve="discard;\n"),), device_passwords=(), catchall=None
    )
    assert drift(desired, changed) == [f"mailbox alice@{D}: sieve script differs"]


# errors -----------------------------------------------------------------------------


def offline_backend(tmp_path, **kwargs) -> DovecotPostfixBackend:
    config = DovecotPostfixConfig.from_dict(
        {
            "dovecot_conf": tmp_path / "dovecot.conf",
            "postfix_dir": tmp_path / "postfix",
            "user_db": tmp_path / "users.sqlite3",
            "maps_dir": tmp_path / "maps",
            **kwargs,
        }
    )
    return DovecotPostfixBackend(config)


def test_invalid_state_is_refused_before_touching_anything(tmp_path):
    backend = offline_backend(tmp_path)
    with pytest.raises(BackendError) as exc:
        backend.apply(service(catchall=f"nobody@{D}"))
    assert exc.value.permanent
    assert "not a mailbox" in str(exc.value)
    assert not (tmp_path / "maps").exists()


def test_missing_binary_is_a_permanent_error(tmp_path):
    backend = offline_backend(tmp_path, doveadm=str(tmp_path / "no-such-doveadm"))
    with pytest.raises(BackendError) as exc:
        backend.list_folders(f"alice@{D}")
    assert exc.value.permanent
    assert "not installed" in exc.value.message


def test_a_lock_conflict_between_dovecot_processes_is_transient(tmp_path):
    """A doveadm that meets a delivery's index locks panics with EDEADLK (seen in CI): the
    next try finds them free, so a push or a report waits and retries."""
    script = tmp_path / "doveadm"
    script.write_text("#!/bin/sh\necho 'doveadm(alice@x.test): Panic: fcntl(/v/dovecot.list."
                      "index.log, write-lock, F_SETLKW) locking failed: Resource deadlock "
                      "avoided (WRITE lock held by pid 7)' >&2\nexit 89\n")
    script.chmod(0o755)
    backend = offline_backend(tmp_path, doveadm=str(script))
    with pytest.raises(BackendError) as exc:
        backend.list_folders(f"alice@{D}")
    assert not exc.value.permanent
    assert "Resource deadlock avoided" in exc.value.message


def test_user_masks_are_not_passed_to_doveadm(tmp_path):
    backend = offline_backend(tmp_path)
    with pytest.raises(BackendError, match="not a mailbox address"):
        backend.kick(f"*@{D}")


def test_backend_error_keeps_the_message_and_says_its_kind():
    error = BackendError("doveadm: connect(auth-userdb) failed", permanent=False)
    assert error.message == "doveadm: connect(auth-userdb) failed"
    assert str(error) == "doveadm: connect(auth-userdb) failed (transient)"

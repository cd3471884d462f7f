"""The pure parts of the mail backend adapter: map rendering, validation and drift()."""

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
    MAP_KINDS,
    combine_fragments,
    entry_domain,
    normalize,
    parse_map,
    render_dovecot_sql_conf,
    render_fragments,
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


def lines(text: str) -> list[str]:
    return [f"{k} {v}" for k, v in parse_map(text)]


def test_every_kind_is_rendered_with_a_header():
    fragments = render_fragments(service())
    assert set(fragments) == set(MAP_KINDS)
    for text in fragments.values():
        assert text.startswith("# Mail Manager: example.test.")
        assert text.endswith("\n")


def test_domain_is_listed_once():
    assert lines(render_fragments(service())["domains"]) == [f"{D} OK"]


def test_only_enabled_mailboxes_receive_mail():
    fragments = render_fragments(service())
    assert lines(fragments["mailboxes"]) == [f"alice@{D} OK", f"bob@{D} OK", f"catch@{D} OK"]
    assert lines(fragments["disabled"]) == [f"gone@{D} {DISABLED_REPLY}"]


def test_catchall_line_comes_with_identities_for_every_mailbox():
    fragments = render_fragments(service())
    assert f"@{D} catch@{D}" in lines(fragments["aliases"])
    # Identities keep real (and disabled) mailboxes out of the catchall.
    assert lines(fragments["identities"]) == [
        f"{local}@{D} {local}@{D}" for local in ("alice", "bob", "catch", "gone")
    ]


def test_disabled_catchall_catches_nothing():
    state = service(
        mailboxes=(box("alice"), box("catch", enabled=False)), forwards=(), device_passwords=()
    )
    aliases = lines(render_fragments(state)["aliases"])
    assert not any(line.startswith("@") for line in aliases)


def test_no_catchall_line_without_catchall():
    aliases = lines(render_fragments(service(catchall=None))["aliases"])
    assert not any(line.startswith("@") for line in aliases)


def test_forward_with_copy_keeps_source_among_sorted_targets():
    aliases = lines(render_fragments(service())["aliases"])
    assert f"alice@{D} alice@elsewhere.test, alice@{D}" in aliases
    assert f"info@{D} alice@{D}, bob@{D}" in aliases


def test_catchall_line_is_last_of_the_aliases():
    aliases = lines(render_fragments(service())["aliases"])
    assert aliases[-1] == f"@{D} catch@{D}"


def test_rendering_is_deterministic_and_order_insensitive():
    state = service()
    shuffled = service(
        mailboxes=tuple(reversed(state.mailboxes)),
        forwards=tuple(
            ForwardState(f.source, tuple(reversed(f.targets))) for f in reversed(state.forwards)
        ),
        device_passwords=tuple(reversed(state.device_passwords)),
    )
    assert render_fragments(state) == render_fragments(shuffled)


def test_addresses_are_lowercased():
    state = service(
        domain="Example.TEST",
        mailboxes=(box("Alice"),),
        forwards=(ForwardState(f"Info@{D}", (f"ALICE@{D}",)),),
        device_passwords=(),
        catchall=f"ALICE@{D}",
    )
    fragments = render_fragments(state)
    assert lines(fragments["identities"]) == [f"alice@{D} alice@{D}"]
    assert lines(fragments["aliases"]) == [f"info@{D} alice@{D}", f"@{D} alice@{D}"]


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


def test_combined_table_concatenates_fragments_by_domain():
    a = render_fragments(service())
    b = render_fragments(
        ServiceState(domain="b.test", mailboxes=(MailboxState("x@b.test", True, 0, None),))
    )
    combined = combine_fragments("identities", {"b.test": b["identities"], D: a["identities"]})
    entries = parse_map(combined)
    assert [entry_domain("identities", key) for key, _ in entries] == ["b.test"] + [D] * 4
    assert combined == combine_fragments(
        "identities", {D: a["identities"], "b.test": b["identities"]}
    )


def test_parse_map_skips_comments_and_normalises_spacing():
    assert parse_map("# c\n\nA@x.test   b@x.test,\tc@x.test\n@x.test\tz@x.test\n") == [
        ("a@x.test", "b@x.test, c@x.test"),
        ("@x.test", "z@x.test"),
    ]


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


def test_user_masks_are_not_passed_to_doveadm(tmp_path):
    backend = offline_backend(tmp_path)
    with pytest.raises(BackendError, match="not a mailbox address"):
        backend.kick(f"*@{D}")


def test_backend_error_keeps_the_message_and_says_its_kind():
    error = BackendError("doveadm: connect(auth-userdb) failed", permanent=False)
    assert error.message == "doveadm: connect(auth-userdb) failed"
    assert str(error) == "doveadm: connect(auth-userdb) failed (transient)"

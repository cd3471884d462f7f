"""The DKIM signer's files as the adapter writes them: KeyTable and SigningTable lines per
domain, key files 0600 replaced whole, one SIGUSR1 per change to the signer's pid (sent
again after a failed signal), and what `actual()` reads back for drift."""
import signal
import stat
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from mailservice.backends.base import BackendError, DkimState, ServiceState, drift
from mailservice.backends.config import DovecotPostfixConfig
from mailservice.backends.dkim_tables import (
    DkimTables,
    SigningEntry,
    parse_key_table,
    render_key_table,
    render_signing_table,
    replace_domain,
)

PEM_A = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
PEM_B = "-----BEGIN PRIVATE KEY-----\nBBBB\n-----END PRIVATE KEY-----\n"

# Counts the SIGUSR1s it receives in a file: a stand-in for OpenDKIM's reload.
LISTENER = """
import signal, sys, time
path = sys.argv[1]
count = 0
def reload(*_):
    global count
    count += 1
    open(path, "w").write(str(count))
signal.signal(signal.SIGUSR1, reload)
open(path, "w").write("0")
while True:
    time.sleep(0.05)
"""


@pytest.fixture
def signer(tmp_path):
    counter = tmp_path / "reloads"
    proc = subprocess.Popen([sys.executable, "-c", LISTENER, str(counter)])
    deadline = time.monotonic() + 10
    while not counter.exists():
        assert time.monotonic() < deadline, "the listener did not start"
        time.sleep(0.02)
    (tmp_path / "opendkim.pid").write_text(f"{proc.pid}\n")

    def reloads(expected=None):
        deadline = time.monotonic() + 10
        while expected is not None and int(counter.read_text() or 0) != expected:
            assert time.monotonic() < deadline, f"waited for reload {expected}"
            time.sleep(0.02)
        return int(counter.read_text() or 0)
    yield reloads
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=10)


@pytest.fixture
def tables(tmp_path):
    (tmp_path / "tables").mkdir()
    (tmp_path / "keys").mkdir(mode=0o700)
    config = DovecotPostfixConfig(dovecot_conf=tmp_path / "d.conf", postfix_dir=tmp_path / "pf",
                                  user_db=tmp_path / "u.db", maps_dir=tmp_path / "maps",
                                  dkim_dir=tmp_path / "tables", dkim_keys_dir=tmp_path / "keys",
                                  opendkim_pid_file=tmp_path / "opendkim.pid")
    return DkimTables(config)


def test_the_tables_render_and_parse_back():
    entries = [SigningEntry("b.test", "s2", "/k/b.test.s2.private"),
               SigningEntry("a.test", "s1", "/k/a.test.s1.private")]
    assert render_key_table(entries) == ("s1._domainkey.a.test a.test:s1:/k/a.test.s1.private\n"
                                         "s2._domainkey.b.test b.test:s2:/k/b.test.s2.private\n")
    assert render_signing_table(entries) == ("*@a.test s1._domainkey.a.test\n"
                                             "*@b.test s2._domainkey.b.test\n")
    assert parse_key_table(render_key_table(entries)) == sorted(entries)
    assert replace_domain(entries, "a.test", None) == [entries[0]]


def test_a_domain_is_written_signalled_once_and_read_back(tables, signer, tmp_path):
    tables.write("a.test", DkimState("s1", PEM_A))
    signer(1)
    key = tmp_path / "keys" / "a.test.s1.private"
    assert key.read_text() == PEM_A and stat.S_IMODE(key.stat().st_mode) == 0o600
    assert (tmp_path / "tables/SigningTable").read_text() == "*@a.test s1._domainkey.a.test\n"
    assert tables.read("a.test") == DkimState("s1", PEM_A)
    assert tables.write("a.test", DkimState("s1", PEM_A)) is False  # unchanged: no signal
    tables.write("b.test", DkimState("s9", PEM_B))
    assert signer(2) == 2
    assert tables.read("a.test") == DkimState("s1", PEM_A)  # the other domain's lines stay


def test_a_new_selector_replaces_the_old_key_file(tables, signer, tmp_path):
    tables.write("a.test", DkimState("s1", PEM_A))
    tables.write("a.test", DkimState("s2", PEM_B))
    signer(2)
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == ["a.test.s2.private"]
    # A key file changed under the same name needs no signal: the signer reads it per message.
    assert tables.write("a.test", DkimState("s2", PEM_A)) is False
    assert (tmp_path / "keys/a.test.s2.private").read_text() == PEM_A


def test_removing_a_domain_drops_its_lines_and_key(tables, signer, tmp_path):
    tables.write("a.test", DkimState("s1", PEM_A))
    tables.write("sub.a.test", DkimState("s1", PEM_B))
    tables.remove("a.test")
    signer(3)
    assert tables.read("a.test") is None
    assert tables.read("sub.a.test") == DkimState("s1", PEM_B)
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == ["sub.a.test.s1.private"]


def test_a_failed_signal_is_sent_again_by_the_next_write(tables, signer, tmp_path):
    pid_file = tmp_path / "opendkim.pid"
    good = pid_file.read_text()
    pid_file.write_text("999999999\n")
    with pytest.raises(BackendError) as error:
        tables.write("a.test", DkimState("s1", PEM_A))
    assert not error.value.permanent
    pid_file.write_text(good)
    assert tables.write("a.test", DkimState("s1", PEM_A)) is True
    signer(1)


def test_what_the_tables_cannot_hold_is_refused(tables):
    for bad in (DkimState("s 1", PEM_A), DkimState("s1:x", PEM_A), DkimState("s1", "not a key")):
        with pytest.raises(BackendError) as error:
            tables.write("a.test", bad)
        assert error.value.permanent


def test_a_host_without_a_signer_refuses_a_key_and_ignores_none(tmp_path):
    plain = DkimTables(DovecotPostfixConfig(dovecot_conf=tmp_path / "d", postfix_dir=tmp_path,
                                            user_db=tmp_path / "u", maps_dir=tmp_path / "m"))
    assert plain.write("a.test", None) is False and plain.read("a.test") is None
    with pytest.raises(BackendError):
        plain.write("a.test", DkimState("s1", PEM_A))


def test_drift_tells_a_missing_or_different_signing_key():
    want = ServiceState(domain="a.test", dkim=DkimState("s1", PEM_A))
    assert drift(want, want) == []
    assert drift(want, replace(want, dkim=None)) == ["dkim key s1: missing"]
    assert drift(want, replace(want, dkim=DkimState("s0", PEM_A))) == ["dkim selector is s0, want s1"]
    assert drift(want, replace(want, dkim=DkimState("s1", PEM_B))) == ["dkim key s1: key differs"]
    assert drift(replace(want, dkim=None), want) == ["dkim key s1: unexpected"]
    assert "AAAA" not in repr(want)


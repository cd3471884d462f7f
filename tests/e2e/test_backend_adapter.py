"""The Dovecot + Postfix adapter against real daemons, observed only through IMAP and SMTP.

Each test pushes its own domain, so the tests also show one backend serving many
domains. Refused logins cost ~2 s each (Dovecot's auth_failure_delay) and Dovecot adds a
growing penalty per client IP, so every refused attempt comes from its own loopback
address (127.0.0.0/8 is all local) and the slow ones run in parallel.
"""

import hashlib
import imaplib
import itertools
import json
import smtplib
import socket
import sqlite3
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

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
from tests.e2e import rcpt_code, send_message
from tests.e2e.stack_logs import postfix_reloads, wait_for

pytestmark = pytest.mark.e2e

SIEVE_LIST = """require ["fileinto", "mailbox"];
if header :contains "list-id" "sl-devel" {
  fileinto :create "Mail List/SL-Devel";
}
"""

_source_ips = (f"127.0.{n // 250}.{n % 250 + 2}" for n in itertools.count(1000))


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class World:
    """One domain's desired state, built up by a test, plus client helpers."""

    def __init__(self, stack, domain: str):
        self.stack = stack
        self.backend = stack.backend()
        self.domain = domain
        self.mailboxes: dict[str, MailboxState] = {}
        self.passwords: dict[str, DevicePasswordState] = {}
        # ref -> (address, plaintext token), kept after the password is removed from the state
        self.credentials: dict[str, tuple[str, str]] = {}
        self.forwards: list[ForwardState] = []
        self.catchall: str | None = None

    def addr(self, local: str) -> str:
        return f"{local}@{self.domain}"

    def mailbox(self, local: str, *, enabled: bool = True, quota_mb: int = 0, sieve=None) -> str:
        email = self.addr(local)
        self.mailboxes[email] = MailboxState(email, enabled, quota_mb, sieve)
        return email

    def password(self, email: str, *, can_send: bool = True) -> str:
        ref, plaintext = str(uuid.uuid4()), uuid.uuid4().hex
        self.passwords[ref] = DevicePasswordState(ref, email, sha(plaintext), can_send)
        self.credentials[ref] = (email, plaintext)
        return ref

    def state(self) -> ServiceState:
        return ServiceState(
            domain=self.domain,
            mailboxes=tuple(self.mailboxes.values()),
            forwards=tuple(self.forwards),
            device_passwords=tuple(self.passwords.values()),
            catchall=self.catchall,
        )

    def apply(self) -> None:
        self.backend.apply(self.state())

    def drift(self) -> list[str]:
        return drift(self.state(), self.backend.actual(self.domain))

    # clients

    def imap(self, ref: str, source_ip: str = "127.0.0.1") -> imaplib.IMAP4:
        client = SourcedIMAP(self.stack.host, self.stack.imap_port, source_ip)
        client.login(*self.credentials[ref])
        return client

    def imap_refused(self, ref: str) -> bool:
        try:
            self.imap(ref, next(_source_ips)).logout()
        except imaplib.IMAP4.error:
            return True
        return False

    def smtp_auth(self, ref: str, source_ip: str = "127.0.0.1") -> int:
        """SMTP AUTH PLAIN on the submission port: the reply code (235 = accepted)."""
        with smtplib.SMTP(
            self.stack.host, self.stack.submission_port, source_address=(source_ip, 0), timeout=30
        ) as smtp:
            smtp.ehlo()
            smtp.user, smtp.password = self.credentials[ref]
            try:
                code, _ = smtp.auth("PLAIN", smtp.auth_plain, initial_response_ok=True)
            except smtplib.SMTPAuthenticationError as exc:
                code = exc.smtp_code
            return code

    def send(self, *recipients: str, subject: str, headers: dict | None = None) -> str:
        return send_message(self.stack, *recipients, subject=subject, headers=headers)

    def rcpt(self, recipient: str) -> int:
        return rcpt_code(self.stack, recipient)

    def has_message(self, ref: str, message_id: str, folder: str = "INBOX", wait: float = 10.0):
        deadline = time.monotonic() + wait
        client = self.imap(ref)
        try:
            while True:
                status, _ = client.select(f'"{folder}"', readonly=True)
                if status == "OK":
                    _, data = client.search(None, "HEADER", "Message-ID", message_id)
                    if data[0].split():
                        return True
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.1)
        finally:
            client.logout()


class SourcedIMAP(imaplib.IMAP4):
    """IMAP from a chosen loopback address (Dovecot's auth penalty is per client IP)."""

    def __init__(self, host: str, port: int, source_ip: str):
        self._source_ip = source_ip
        super().__init__(host, port, timeout=30)

    def _create_socket(self, timeout):
        return socket.create_connection(
            (self.host, self.port), timeout, source_address=(self._source_ip, 0)
        )


@pytest.fixture
def world(mail_stack, request):
    name = request.node.name.removeprefix("test_").replace("_", "-")[:40].strip("-")
    w = World(mail_stack, f"{name}.example.test")
    yield w
    w.backend.remove_service(w.domain)


def parallel(*checks):
    """Run slow checks (refused logins) at the same time; their results in order."""
    with ThreadPoolExecutor(max_workers=len(checks)) as pool:
        return [f.result() for f in [pool.submit(check) for check in checks]]


def test_device_passwords_each_log_in_and_a_removed_one_stops(world):
    alice = world.mailbox("alice")
    laptop, phone = world.password(alice), world.password(alice)
    world.apply()
    world.imap(laptop).logout()
    world.imap(phone).logout()

    del world.passwords[laptop]
    world.apply()
    assert world.imap_refused(laptop)
    world.imap(phone).logout()
    assert world.drift() == []


def test_the_push_makes_each_new_mailboxs_inbox_before_routing_mail_to_it(world):
    """Two first deliveries arriving together (an alias copy, a redirection's kept copy)
    each created the INBOX, and Dovecot failed both (EDEADLK on the list index, "451
    Mailbox already exists"): the push now makes it, owned by the mail user, so delivery
    only opens it."""
    alice = world.mailbox("alice")
    off = world.mailbox("off", enabled=False)
    world.apply()
    maildir = world.stack.root / "vmail" / world.domain / "alice" / "Maildir"
    for part in ("cur", "new", "tmp"):
        folder = maildir / part
        assert folder.is_dir() and (folder.stat().st_uid, folder.stat().st_gid) == (5000, 5000)
        assert folder.stat().st_mode & 0o777 == 0o700
    assert not (world.stack.root / "vmail" / world.domain / "off" / "Maildir").exists()
    ref = world.password(alice)
    world.apply()  # again: nothing to make, nothing changed
    to_alice = world.send(alice, subject="first")
    assert world.has_message(ref, to_alice)
    world.mailboxes[off] = replace(world.mailboxes[off], enabled=True)
    world.apply()  # enabled: now it has one
    assert (world.stack.root / "vmail" / world.domain / "off" / "Maildir" / "cur").is_dir()


def test_catchall_aliases_and_redirection_route_mail(world):
    alice, bob, catch = world.mailbox("alice"), world.mailbox("bob"), world.mailbox("catch")
    keeper = world.mailbox("keeper")
    refs = {email: world.password(email) for email in (alice, bob, keeper)}
    refs[catch] = world.password(catch, can_send=False)
    world.catchall = catch
    world.forwards = [
        ForwardState(world.addr("team"), (alice, bob)),
        ForwardState(keeper, (keeper, alice)),  # redirection keeping a copy
    ]
    world.apply()

    to_unknown = world.send(world.addr("nobody"), subject="unknown")
    to_bob = world.send(bob, subject="direct")
    to_team = world.send(world.addr("team"), subject="alias")
    to_keeper = world.send(keeper, subject="redirect with copy")

    assert world.has_message(refs[catch], to_unknown)
    assert world.has_message(refs[bob], to_bob)
    assert not world.has_message(refs[catch], to_bob, wait=0)
    assert world.has_message(refs[alice], to_team) and world.has_message(refs[bob], to_team)
    assert world.has_message(refs[keeper], to_keeper) and world.has_message(refs[alice], to_keeper)
    assert world.drift() == []


def test_refused_logins_and_recipients(world):
    alice, catch = world.mailbox("alice"), world.mailbox("catch")
    gone = world.mailbox("gone", enabled=False)
    alice_ref, catch_ref = world.password(alice), world.password(catch, can_send=False)
    gone_ref = world.password(gone)
    world.catchall = catch
    world.apply()

    # A disabled mailbox is refused at RCPT even though a catchall exists.
    assert world.rcpt(gone) == 550
    assert world.rcpt(world.addr("unknown")) == 250
    # The catchall reads mail but cannot send; a normal address can.
    world.imap(catch_ref).logout()
    assert world.smtp_auth(alice_ref) == 235
    catch_smtp, gone_imap = parallel(
        lambda: world.smtp_auth(catch_ref, next(_source_ips)),
        lambda: world.imap_refused(gone_ref),
    )
    assert catch_smtp == 535
    assert gone_imap
    assert world.drift() == []


def test_sieve_script_files_into_a_new_folder(world):
    alice = world.mailbox("alice", sieve=SIEVE_LIST)
    ref = world.password(alice)
    world.apply()
    assert world.backend.actual(world.domain).mailboxes[0].sieve_script == SIEVE_LIST

    on_list = world.send(alice, subject="patch", headers={"List-Id": "<sl-devel.lists.test>"})
    plain = world.send(alice, subject="hello")
    assert world.has_message(ref, on_list, folder="Mail List/SL-Devel")
    assert world.has_message(ref, plain)
    assert "Mail List/SL-Devel" in world.backend.list_folders(alice)

    # Sieve redirect goes back through Postfix (Dovecot's submission_host).
    world.mailbox("bob", sieve=f'redirect "{alice}";\n')
    world.apply()
    redirected = world.send(world.addr("bob"), subject="for alice")
    assert world.has_message(ref, redirected)

    # Removing the script takes effect at the next delivery, without a reload.
    world.mailbox("alice", sieve=None)
    world.apply()
    assert world.backend.actual(world.domain).mailboxes[0].sieve_script is None
    assert world.drift() == []
    again = world.send(alice, subject="patch 2", headers={"List-Id": "<sl-devel.lists.test>"})
    assert world.has_message(ref, again)


def test_folders_with_dots_and_subfolders(world):
    alice = world.mailbox("alice")
    world.apply()
    world.backend.create_folder(alice, "Projects/v1.2")
    world.backend.create_folder(alice, "Projects/v1.2")  # already there: no error
    folders = world.backend.list_folders(alice)
    assert {"INBOX", "Projects", "Projects/v1.2"} <= set(folders)


def test_apply_twice_changes_nothing(world, mail_stack):
    alice = world.mailbox("alice", quota_mb=50, sieve=SIEVE_LIST)
    world.password(alice)
    world.forwards = [ForwardState(world.addr("info"), (alice,))]
    world.catchall = alice
    world.apply()

    config = mail_stack.config
    # A committed write to the maps database appends to its write-ahead log, or reaches the
    # database file itself when the last connection closes (and removes the log).
    files = [config.maps_db, Path(f"{config.maps_db}-wal"), config.user_db]
    files += sorted(config.maps_dir.glob("postfix-*.cf"))

    def mtimes():
        return {f: f.stat().st_mtime_ns if f.exists() else None for f in files}

    before = mtimes()
    reloads = postfix_reloads(mail_stack)
    world.apply()
    assert mtimes() == before
    assert postfix_reloads(mail_stack) == reloads
    assert world.drift() == []


def test_hand_edited_lookup_rows_are_detected_and_restored(world, mail_stack):
    alice = world.mailbox("alice")
    world.password(alice)
    world.apply()
    evil = world.addr("evil")
    with sqlite3.connect(mail_stack.config.maps_db) as db:
        db.execute("INSERT INTO aliases (source, target, domain) VALUES (?, ?, ?)",
                   (evil, "thief@outside.test", world.domain))
        db.execute("DELETE FROM sender_logins WHERE sender = ?", (alice,))
    assert world.rcpt(evil) == 250  # Postfix reads the table itself: no reload

    differences = world.drift()
    assert f"backend: aliases: unexpected row '{evil} thief@outside.test'" in differences
    assert f"backend: sender_logins: missing row '{alice} {alice}'" in differences

    world.apply()
    assert world.drift() == []
    assert world.rcpt(evil) == 550


def test_deleted_passdb_row_is_detected_and_restored(world, mail_stack):
    alice = world.mailbox("alice")
    ref = world.password(alice)
    world.apply()
    with sqlite3.connect(mail_stack.config.user_db) as db:
        db.execute("DELETE FROM device_passwords WHERE ref = ?", (ref,))

    assert world.drift() == [f"device password {ref} ({alice}): missing"]
    world.apply()
    assert world.drift() == []
    world.imap(ref).logout()


def test_quota_and_kick(world):
    alice = world.mailbox("alice", quota_mb=100)
    ref = world.password(alice)
    world.apply()
    client = world.imap(ref)
    _, data = client.getquotaroot("INBOX")
    assert b"STORAGE 0 102400" in b" ".join(d for d in data[1] if isinstance(d, bytes))

    world.backend.kick(alice)

    def ended():
        try:
            client.noop()
        except (imaplib.IMAP4.abort, OSError):
            return True
        return False
    wait_for(ended, "Dovecot to end alice's IMAP session")


def test_remove_service_forgets_everything(world, mail_stack):
    alice = world.mailbox("alice")
    world.password(alice)
    world.catchall = alice
    world.apply()
    world.backend.remove_service(world.domain)
    assert world.backend.actual(world.domain) == ServiceState(domain=world.domain)
    assert not world.backend.maps.serves(world.domain)
    assert not any(world.backend.maps.read_domain(world.domain).values())
    assert world.domain not in world.backend.domains()
    assert world.rcpt(alice) == 550


def test_invalid_state_is_a_permanent_error(world):
    world.mailbox("alice")
    world.catchall = world.addr("nobody")
    with pytest.raises(BackendError) as exc:
        world.apply()
    assert exc.value.permanent



def test_a_script_the_engine_refuses_is_held_back_for_its_mailbox_only(world):
    alice = world.mailbox("alice", sieve=SIEVE_LIST)
    world.apply()
    world.mailbox("alice", sieve="this is not sieve;")
    bob = world.mailbox("bob", sieve=SIEVE_LIST)
    report = world.backend.apply(world.state())
    [hold] = report.sieve_holds
    assert (hold.email, hold.kind, hold.sha256) == (alice, "refused", sha("this is not sieve;"))
    assert "line 1" in hold.reason
    scripts = world.backend.sieve.active([alice, bob])
    assert scripts == {alice: SIEVE_LIST, bob: SIEVE_LIST}
    # Pushing it again changes nothing and reports the same hold; drift() does not count it.
    assert world.backend.apply(world.state()).sieve_holds == (hold,)
    assert world.drift() == []


def test_stopped_dovecot_is_a_transient_error(mail_stack, tmp_path):
    # The same configuration with a base_dir where no daemon listens.
    conf = tmp_path / "dovecot.conf"
    text = mail_stack.config.dovecot_conf.read_text()
    conf.write_text(text.replace(f"base_dir = {mail_stack.base_dir}", f"base_dir = {tmp_path}"))
    backend = DovecotPostfixBackend(replace(mail_stack.config, dovecot_conf=conf))
    with pytest.raises(BackendError) as exc:
        backend.list_folders("alice@down.example.test")
    assert not exc.value.permanent, exc.value.message


def test_stack_json_describes_the_adapter_config(mail_stack):
    data = json.loads((mail_stack.root / "stack.json").read_text())
    assert DovecotPostfixConfig.from_dict(data) == mail_stack.config
    assert data["imap_port"] == mail_stack.imap_port


def test_a_push_skips_unchanged_scripts_and_reconcile_repairs_a_removed_one(world, mail_stack):
    """apply() trusts its record of pushed scripts (no doveadm round per mailbox); a script
    removed behind its back shows in drift() and is restored after forget_sieve()."""
    alice = world.mailbox("alice", sieve=SIEVE_LIST)
    world.apply()
    backend = mail_stack.backend()
    backend.tools.doveadm("sieve", "deactivate", "-u", alice)  # someone removes it by hand
    assert any("sieve" in d for d in world.drift())
    world.apply()  # the record says it is there: a plain push does not look
    assert any("sieve" in d for d in world.drift())
    backend.forget_sieve(world.domain)
    world.apply()
    assert world.drift() == []

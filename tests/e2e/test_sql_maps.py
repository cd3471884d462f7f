"""Postfix's SQL lookup tables against the real Postfix, on both stores: the embedded SQLite
file (the shared local stack) and PostgreSQL (a stack of its own over a database this module
creates, ``mm_maps_<random>``, read by a SELECT-only role, both dropped at the end).

The proofs of BACKENDS-2 §5: a mailbox added is delivered to at once and a disabled one
refused at the next RCPT, with no reload; a writer committing all the time during a burst of
mail leaves no "locked" or fatal error in Postfix's log; a new domain's push returns only
once the Postfix daemons older than it are gone.
"""

import contextlib
import grp
import os
import re
import secrets
import shutil
import smtplib
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest

from mailservice.backends import postfix_maps
from mailservice.backends.base import ForwardState, MailboxState, ServiceState
from mailservice.backends.config import DovecotPostfixConfig
from mailservice.backends.postfix_maps import PostgresMaps, SqliteMaps
from mailservice.backends.render import render_map_rows
from scripts.localstack import MailStack, missing_binaries
from tests.e2e import rcpt_code, send_message
from tests.e2e.stack_logs import postfix_reloads

pytestmark = pytest.mark.e2e

# The machine's PostgreSQL server, as a role that may create databases and roles.
PG_ADMIN_URL = os.environ.get("MM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# What Postfix must never log while the tables are written to.
BAD_LOG_LINE = re.compile(r"locked|fatal:|panic:|queue file write error|warning: .*(sqlite|pgsql)",
                          re.IGNORECASE)


def _unavailable(message: str):
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def pg_maps():
    """A database and a SELECT-only role of this module's own (never the database `test`)."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict

    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        _unavailable(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}")
    tag = secrets.token_hex(4)
    name, reader = f"mm_maps_{tag}", f"mm_maps_ro_{tag}"
    info = conninfo_to_dict(PG_ADMIN_URL)
    server = f"{info.get('host', '127.0.0.1')}:{info.get('port', 5432)}"
    secret = f":{info['password']}" if info.get("password") else ""
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(reader)))
    try:
        yield SimpleNamespace(
            writer_url=f"postgresql://{info.get('user', 'postgres')}{secret}@{server}/{name}",
            reader_url=f"postgresql://{reader}@{server}/{name}",
            reader=reader,
        )
    finally:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(reader)))
        admin.close()


@pytest.fixture(scope="module")
def pg_mail_stack(pg_maps):
    """A second local stack whose Postfix reads its tables from PostgreSQL (proxy:pgsql:)."""
    missing = missing_binaries(map_types=("pgsql",))
    if missing:
        _unavailable(f"not installed: {', '.join(missing)} (scripts/install-system-packages.sh)")
    root = Path(tempfile.mkdtemp(prefix="mm-e2e-pg-", dir="/tmp"))
    stack = MailStack.start(root, maps_database_url=pg_maps.writer_url,
                            maps_reader_url=pg_maps.reader_url)
    try:
        yield stack
    finally:
        stack.stop()
        if os.environ.get("MAILSTACK_KEEP") != "1":
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "pgsql"])
def stack(request, mail_stack):
    return mail_stack if request.param == "sqlite" else request.getfixturevalue("pg_mail_stack")


class Service:
    """One domain on a stack: its desired state, pushed with the stack's adapter."""

    def __init__(self, stack, domain: str):
        self.stack = stack
        self.backend = stack.backend()
        self.domain = domain
        self.mailboxes: dict[str, bool] = {}
        self.forwards: list[ForwardState] = []

    def addr(self, local: str) -> str:
        return f"{local}@{self.domain}"

    def state(self) -> ServiceState:
        return ServiceState(
            domain=self.domain,
            mailboxes=tuple(MailboxState(e, on, 0, None) for e, on in self.mailboxes.items()),
            forwards=tuple(self.forwards),
        )

    def apply(self) -> None:
        self.backend.apply(self.state())

    def inbox(self, email: str) -> list[bytes]:
        """The messages in a mailbox's INBOX, read from its Maildir: asking Dovecot while a
        first delivery creates the mailbox can make that delivery fail (it is deferred)."""
        local, _, domain = email.partition("@")
        maildir = self.stack.root / "vmail" / domain / local / "Maildir"
        found = []
        for sub in ("new", "cur"):
            for path in (maildir / sub).glob("*") if (maildir / sub).is_dir() else ():
                with contextlib.suppress(FileNotFoundError):  # moved from new/ to cur/
                    found.append(path.read_bytes())
        return found

    def delivered(self, email: str, needle: str, *, count: int = 1, wait: float = 15.0) -> int:
        """How many INBOX messages contain ``needle`` once ``count`` did or ``wait`` ran out."""
        deadline = time.monotonic() + wait
        while True:
            found = sum(needle.encode() in message for message in self.inbox(email))
            if found >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.1)


@pytest.fixture
def service(stack, request):
    name = request.node.name.removeprefix("test_")[:24].strip("_").replace("_", "-")
    s = Service(stack, f"{name}-{secrets.token_hex(3)}.sqlmaps.test")
    yield s
    s.backend.remove_service(s.domain)


def postfix_log(stack) -> Path:
    return stack.root / "log/postfix.log"


def reloads(stack) -> int:
    return postfix_reloads(stack)


# --- the proofs, on both stores --------------------------------------------------------------


def test_a_mailbox_added_to_a_served_domain_receives_mail_at_once_without_a_reload(service):
    service.mailboxes[service.addr("alice")] = True
    service.apply()
    before = reloads(service.stack)

    bob = service.addr("bob")
    service.mailboxes[bob] = True
    service.apply()
    message_id = send_message(service.stack, bob, subject="sent right after the push")
    assert service.delivered(bob, message_id) == 1
    assert reloads(service.stack) == before


def test_a_disabled_mailbox_is_refused_at_the_next_rcpt_of_the_same_session(service):
    alice = service.addr("alice")
    service.mailboxes[alice] = True
    service.apply()
    before = reloads(service.stack)
    with smtplib.SMTP(service.stack.host, service.stack.smtp_port, timeout=30) as smtp:
        smtp.ehlo()
        smtp.mail("sender@outside.test")
        assert smtp.rcpt(alice)[0] == 250

        service.mailboxes[alice] = False
        service.apply()
        code, reply = smtp.rcpt(alice)
        assert code == 550, reply

        service.mailboxes[alice] = True
        service.apply()
        assert smtp.rcpt(alice)[0] == 250
    assert reloads(service.stack) == before


def test_a_writer_loop_during_a_burst_leaves_no_locked_or_fatal_line_in_postfix_log(service):
    alice, bob, team = service.addr("alice"), service.addr("bob"), service.addr("team")
    service.mailboxes.update({alice: True, bob: True})
    service.forwards = [ForwardState(team, (bob,))]
    service.apply()
    # Dovecot fails some of several concurrent first deliveries to a new mailbox (a lock
    # race creating its index, retried by Postfix minutes later): create them first.
    primer = send_message(service.stack, alice, team, subject="first")
    assert service.delivered(alice, primer) == 1 and service.delivered(bob, primer) == 1
    log = postfix_log(service.stack)
    offset = log.stat().st_size

    base = render_map_rows(service.state())
    churned = dict(base, aliases=base["aliases"] + tuple(
        (service.addr(f"filler{i}"), alice) for i in range(300)))
    stop, commits, failures = threading.Event(), [], []

    def writer():
        # Its own store object: the adapter's tables, written as fast as it can, 300 rows
        # added or removed per commit.
        maps = service.stack.backend().maps
        try:
            while not stop.is_set():
                maps.write_domain(service.domain, churned if len(commits) % 2 == 0 else base)
                commits.append(1)
        except Exception as exc:  # reported by the test, not lost in the thread
            failures.append(exc)

    def send_many(batch: int) -> None:
        with smtplib.SMTP(service.stack.host, service.stack.smtp_port, timeout=60) as smtp:
            for n in range(25):
                smtp.sendmail("sender@outside.test", [alice, team],
                              f"Subject: burst {batch}-{n}\r\nMessage-ID: <{batch}.{n}."
                              f"{secrets.token_hex(4)}@outside.test>\r\n\r\nhello\r\n")

    # The writer runs until the burst is delivered: cleanup expands aliases as the
    # messages are received, trivial-rewrite and qmgr look recipients up again to deliver.
    # The burst goes on, a round of 100 messages at a time, until the writer has committed
    # ten times while it was sent: how fast each side goes depends on the machine's load.
    thread = threading.Thread(target=writer)
    thread.start()
    rounds, deadline = 0, time.monotonic() + 180
    try:
        while True:
            at_start = len(commits)
            with ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(send_many, range(4 * rounds, 4 * rounds + 4)))
            rounds += 1
            during = len(commits) - at_start
            if during >= 10 or time.monotonic() > deadline:
                break
        received = [service.delivered(email, "Subject: burst ", count=100 * rounds, wait=60)
                    for email in (alice, bob)]
    finally:
        stop.set()
        thread.join()
    assert not failures, failures
    assert received == [100 * rounds, 100 * rounds]
    assert during >= 10, "the writer did not run alongside the burst"
    with log.open() as fh:
        fh.seek(offset)
        bad = [line for line in fh if BAD_LOG_LINE.search(line)]
    assert bad == []


def test_reloads_during_a_writer_loop_leave_no_locked_or_fatal_line_in_postfix_log(service):
    """Each `postfix reload` ends the daemons holding the tables open; the new ones open
    them while the writer commits. SQLite locks a reader out while a closing connection
    checkpoints or the first one opens, and Postfix dies of it: the writing process keeps
    its one connection open and never closes it (postfix_maps._kept)."""
    alice = service.addr("alice")
    service.mailboxes[alice] = True
    service.apply()
    log = postfix_log(service.stack)
    offset = log.stat().st_size
    base = render_map_rows(service.state())
    churned = dict(base, aliases=tuple((service.addr(f"f{i}"), alice) for i in range(50)))
    stop, commits = threading.Event(), []

    def writer():
        maps = service.stack.backend().maps
        while not stop.is_set():
            maps.write_domain(service.domain, churned if len(commits) % 2 == 0 else base)
            commits.append(1)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    etc = str(service.stack.config.postfix_dir)
    # At least 25 reloads and 25 commits of the writer among them: how many commits fit
    # in one reload depends on the machine's load, so the reloads go on until both are done.
    reloads_done, deadline = 0, time.monotonic() + 120
    try:
        while reloads_done < 25 or len(commits) < 25:
            assert time.monotonic() < deadline, (reloads_done, len(commits))
            subprocess.run(["postfix", "-c", etc, "reload"], capture_output=True, check=True)
            reloads_done += 1
            for _ in range(3):  # the new proxymap's first lookups
                subprocess.run(["postmap", "-c", etc, "-q", alice,
                                service.backend.maps.table_ref("mailboxes")],
                               capture_output=True, timeout=30, check=False)
    finally:
        stop.set()
        thread.join()
    assert len(commits) >= 25
    with log.open() as fh:
        fh.seek(offset)
        bad = [line for line in fh if BAD_LOG_LINE.search(line)]
    assert bad == []
    assert rcpt_code(service.stack, alice) == 250


def test_a_new_domain_is_applied_once_every_older_postfix_daemon_has_exited(service):
    alice = service.addr("alice")
    service.mailboxes[alice] = True
    before = reloads(service.stack)
    outcome: list[object] = []

    def push():
        try:
            service.apply()
            outcome.append("applied")
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=push)
    # This session's smtpd started before the domain existed: it may have resolved the
    # domain as not ours and would keep that answer, so the push must wait for it.
    with smtplib.SMTP(service.stack.host, service.stack.smtp_port, timeout=30) as old:
        old.ehlo()
        thread.start()
        deadline = time.monotonic() + 15
        while reloads(service.stack) == before:  # the master has re-read its config
            assert time.monotonic() < deadline and thread.is_alive(), outcome
            time.sleep(0.02)
        # Postfix's idle daemons exit now; the one serving this session cannot, so the
        # push cannot have returned.
        assert thread.is_alive() and outcome == []
    thread.join(timeout=30)
    assert outcome == ["applied"]
    assert rcpt_code(service.stack, alice) == 250
    assert not service.backend.postfix_reload.pending()


def test_the_sender_login_table_answers_each_login_and_the_mailboxes_behind_an_alias(service):
    alice, bob, team = service.addr("alice"), service.addr("bob"), service.addr("team")
    service.mailboxes.update({alice: True, bob: True, service.addr("gone"): False})
    service.forwards = [ForwardState(team, (alice, bob)), ForwardState(bob, (bob, alice))]
    service.apply()

    def lookup(key: str) -> set[str]:
        maps = service.backend.maps
        proc = subprocess.run(
            ["postmap", "-c", str(service.stack.config.postfix_dir), "-q", key,
             maps.table_ref("sender_logins")], capture_output=True, text=True, check=False)
        return set(proc.stdout.strip().split(",")) - {""}

    assert lookup(alice) == {alice}
    assert lookup(team) == {alice, bob}
    assert lookup(bob) == {bob}  # a redirection to alice does not let alice send as bob
    assert lookup(service.addr("gone")) == set()


# --- the stores themselves ---------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "pgsql"])
def maps(request):
    root = Path(tempfile.mkdtemp(prefix="mm-maps-", dir="/tmp"))
    os.chmod(root, 0o755)
    fields = {"dovecot_conf": root / "dovecot.conf", "postfix_dir": root / "postfix",
              "user_db": root / "users.sqlite3", "maps_dir": root / "maps"}
    if request.param == "pgsql":
        pg = request.getfixturevalue("pg_maps")
        store = PostgresMaps(DovecotPostfixConfig(
            **fields, maps_database_url=pg.writer_url, maps_reader_url=pg.reader_url))
    else:
        store = SqliteMaps(DovecotPostfixConfig(**fields))
    store.ensure()
    yield store
    shutil.rmtree(root, ignore_errors=True)


def rows_of(domain: str, *locals_: str, catchall: str | None = None):
    boxes = tuple(MailboxState(f"{x}@{domain}", True, 0, None) for x in locals_)
    return render_map_rows(ServiceState(
        domain=domain, mailboxes=boxes, catchall=catchall and f"{catchall}@{domain}",
        forwards=(ForwardState(f"team@{domain}", tuple(b.email for b in boxes)),)))


def test_a_write_touches_only_the_rows_that_differ_and_only_its_domain(maps):
    suffix = secrets.token_hex(3)
    a, b = f"a-{suffix}.test", f"b-{suffix}.test"
    assert maps.write_domain(a, rows_of(a, "alice", "bob")) == 9
    assert maps.write_domain(b, rows_of(b, "carol")) == 5
    assert maps.write_domain(a, rows_of(a, "alice", "bob")) == 0
    # bob goes: his mailbox, sender login, team row and team login.
    assert maps.write_domain(a, rows_of(a, "alice")) == 4
    assert maps.read_domain(a) == rows_of(a, "alice")
    assert maps.read_domain(b) == rows_of(b, "carol")
    assert maps.serves(a)

    maps.write_domain(a, None)
    assert not maps.serves(a) and not any(maps.read_domain(a).values())
    assert maps.read_domain(b) == rows_of(b, "carol")
    maps.write_domain(b, None)


def test_faults_name_hand_made_rows_and_a_write_takes_them_over(maps):
    domain = f"c-{secrets.token_hex(3)}.test"
    want = rows_of(domain, "alice", catchall="alice")
    maps.write_domain(domain, want)
    with maps._transaction(write=True) as run:
        run("INSERT INTO aliases (source, target, domain) VALUES (?, ?, ?)",
            (f"evil@{domain}", "thief@outside.test", domain))
        # A row of this domain's key filed under another domain.
        run("UPDATE mailboxes SET domain = ? WHERE email = ?", ("other.test", f"alice@{domain}"))
    assert maps.faults(want, domain) == [
        f"mailboxes: missing row 'alice@{domain} enabled'",
        f"aliases: unexpected row 'evil@{domain} thief@outside.test'",
    ]
    maps.write_domain(domain, want)
    assert maps.faults(want, domain) == []
    maps.write_domain(domain, None)


def test_the_postgres_reader_role_may_only_read(pg_maps):
    import psycopg

    root = Path(tempfile.mkdtemp(prefix="mm-maps-", dir="/tmp"))
    try:
        store = PostgresMaps(DovecotPostfixConfig(
            dovecot_conf=root / "d.conf", postfix_dir=root / "pf", user_db=root / "u.sqlite3",
            maps_dir=root / "maps", maps_database_url=pg_maps.writer_url,
            maps_reader_url=pg_maps.reader_url))
        store.ensure()
        lookup = (root / "maps/postfix-aliases.cf").read_text()
        assert f"user = {pg_maps.reader}\n" in lookup
        assert (root / "maps/postfix-aliases.cf").stat().st_mode & 0o777 == 0o640
    finally:
        shutil.rmtree(root, ignore_errors=True)
    with psycopg.connect(pg_maps.reader_url) as reader:
        assert reader.execute("SELECT count(*) FROM aliases").fetchone()[0] >= 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            reader.execute("INSERT INTO domains (domain) VALUES ('x.test')")


def test_postfix_can_open_the_sqlite_tables_after_their_wal_files_are_gone():
    """BACKENDS-2's stall: a reader that must create -wal/-shm without write access fails
    ("attempt to write a readonly database") and Postfix's trivial-rewrite dies."""
    root = Path(tempfile.mkdtemp(prefix="mm-maps-", dir="/tmp"))
    os.chmod(root, 0o755)
    try:
        config = DovecotPostfixConfig(dovecot_conf=root / "d.conf", postfix_dir=root / "pf",
                                      user_db=root / "u.sqlite3", maps_dir=root / "maps")
        store = SqliteMaps(config)
        store.ensure()
        store.write_domain("wal.test", rows_of("wal.test", "alice"))
        # This process keeps its connection open (postfix_maps._kept); closing it makes it
        # the last one, which removes the -wal and -shm files.
        postfix_maps._keepers.pop(str(config.maps_db))[1].close()
        postfix_gid = grp.getgrnam("postfix").gr_gid
        folder, db = config.maps_dir.stat(), config.maps_db.stat()
        assert (folder.st_gid, folder.st_mode & 0o7777) == (postfix_gid, 0o2775)
        assert (db.st_gid, db.st_mode & 0o777) == (postfix_gid, 0o664)
        assert not Path(f"{config.maps_db}-wal").exists()
        read = ("import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); "
                "print(db.execute('SELECT email FROM mailboxes').fetchall())")
        proc = subprocess.run(["runuser", "-u", "postfix", "--", "python3", "-c", read,
                               str(config.maps_db)], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr
        assert "alice@wal.test" in proc.stdout
    finally:
        shutil.rmtree(root, ignore_errors=True)

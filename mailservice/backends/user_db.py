"""The user database: the SQLite record of each service, read by Dovecot's sql passdb/userdb."""

from __future__ import annotations

import contextlib
import grp
import os
import sqlite3
from collections.abc import Iterator

from .base import BackendError, DevicePasswordState, ForwardState, MailboxState, ServiceState
from .config import DovecotPostfixConfig

SCHEMA_VERSION = 4
SCHEMA = """
CREATE TABLE IF NOT EXISTS services (
    domain TEXT PRIMARY KEY,
    catchall TEXT
);
CREATE TABLE IF NOT EXISTS mailboxes (
    email TEXT PRIMARY KEY,
    domain TEXT NOT NULL,
    quota_mb INTEGER NOT NULL DEFAULT 0,
    enabled INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS mailboxes_domain ON mailboxes (domain);
CREATE TABLE IF NOT EXISTS forwards (
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    domain TEXT NOT NULL,
    PRIMARY KEY (source, target)
);
CREATE INDEX IF NOT EXISTS forwards_domain ON forwards (domain);
CREATE TABLE IF NOT EXISTS device_passwords (
    ref TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    domain TEXT NOT NULL,
    token_sha256 TEXT NOT NULL,
    can_send INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS device_passwords_login ON device_passwords (email, token_sha256);
CREATE INDEX IF NOT EXISTS device_passwords_domain ON device_passwords (domain);
-- The extra (sender, login) pairs of ServiceState.sender_grants (Postfix's sender_logins
-- table is rendered from them with the mailboxes and forwards).
CREATE TABLE IF NOT EXISTS sender_grants (
    sender TEXT NOT NULL,
    login TEXT NOT NULL,
    domain TEXT NOT NULL,
    PRIMARY KEY (sender, login)
);
CREATE INDEX IF NOT EXISTS sender_grants_domain ON sender_grants (domain);
-- What apply() last made the active Sieve script of each mailbox ("" = none). Lets a
-- push skip asking doveadm about 10,000 unchanged mailboxes; a mailbox without a row
-- is read from Dovecot. forget_sieve() drops rows so the next apply verifies them.
CREATE TABLE IF NOT EXISTS sieve_pushed (
    email TEXT PRIMARY KEY,
    domain TEXT NOT NULL,
    sha256 TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sieve_pushed_domain ON sieve_pushed (domain);
-- The script apply() last activated in each mailbox (sha256 "" and script NULL: none), the
-- one to put back if it makes delivery fail (previous; NULL: run none), and where
-- Dovecot's log ended when it became active: a failure logged before that mark was an
-- older script's.
CREATE TABLE IF NOT EXISTS sieve_fallback (
    email TEXT PRIMARY KEY,
    domain TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    script TEXT,
    previous TEXT,
    log_inode INTEGER NOT NULL DEFAULT 0,
    log_offset INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS sieve_fallback_domain ON sieve_fallback (domain);
-- A desired script the adapter does not run in a mailbox (base.SieveHold): refused by the
-- engine's check before activation, or replaced after it stopped delivery. Kept while the
-- desired script is that one, so a push does not try it again.
CREATE TABLE IF NOT EXISTS sieve_held (
    email TEXT PRIMARY KEY,
    domain TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    at REAL NOT NULL,
    restored INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS sieve_held_domain ON sieve_held (domain);
-- How far check_deliveries() has read a log file (inode: a rotated log starts again).
CREATE TABLE IF NOT EXISTS log_cursor (
    path TEXT PRIMARY KEY,
    inode INTEGER NOT NULL,
    offset INTEGER NOT NULL
);
"""


class UserDatabase:
    """The SQLite file ``config.user_db``; callers hold the adapter's lock around writes."""

    def __init__(self, config: DovecotPostfixConfig):
        self.config = config

    def ensure(self) -> None:
        """Create the database with its schema if absent, readable by ``db_group``."""
        cfg = self.config
        cfg.user_db.parent.mkdir(parents=True, exist_ok=True)
        new = not cfg.user_db.exists()
        with self.connect() as db:
            if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                db.executescript(SCHEMA)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        if new:
            os.chmod(cfg.user_db, 0o640)
            if cfg.db_group:
                with contextlib.suppress(KeyError):
                    os.chown(cfg.user_db, -1, grp.getgrnam(cfg.db_group).gr_gid)

    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(self.config.user_db, timeout=10, isolation_level=None)
        except sqlite3.Error as exc:
            raise BackendError(
                f"user database {self.config.user_db}: {exc}", permanent=True
            ) from exc
        try:
            yield db
        except sqlite3.OperationalError as exc:
            # "database is locked" and friends: another writer, try again later.
            raise BackendError(f"user database: {exc}", permanent=False) from exc
        except sqlite3.DatabaseError as exc:
            raise BackendError(f"user database: {exc}", permanent=True) from exc
        finally:
            db.close()

    def domains(self) -> list[str]:
        with self.connect() as db:
            return [r[0] for r in db.execute("SELECT domain FROM services ORDER BY domain")]

    def read_records(self, domain: str) -> tuple[ServiceState, bool]:
        """The recorded state of a domain (sieve scripts left None) and whether it is served."""
        with self.connect() as db:
            row = db.execute("SELECT catchall FROM services WHERE domain = ?", (domain,)).fetchone()
            boxes = tuple(
                MailboxState(email=e, enabled=bool(en), quota_mb=q, sieve_script=None)
                for e, q, en in db.execute(
                    "SELECT email, quota_mb, enabled FROM mailboxes WHERE domain = ? ORDER BY email",
                    (domain,),
                )
            )
            targets: dict[str, list[str]] = {}
            for source, target in db.execute(
                "SELECT source, target FROM forwards WHERE domain = ? ORDER BY source, target",
                (domain,),
            ):
                targets.setdefault(source, []).append(target)
            passwords = tuple(
                DevicePasswordState(ref=r, email=e, token_sha256=t, can_send=bool(s))
                for r, e, t, s in db.execute(
                    "SELECT ref, email, token_sha256, can_send FROM device_passwords "
                    "WHERE domain = ? ORDER BY ref",
                    (domain,),
                )
            )
            grants = tuple(db.execute(
                "SELECT sender, login FROM sender_grants WHERE domain = ? ORDER BY sender, login",
                (domain,),
            ))
        state = ServiceState(
            domain=domain,
            sender_grants=grants,
            mailboxes=boxes,
            forwards=tuple(ForwardState(source=s, targets=tuple(t)) for s, t in targets.items()),
            device_passwords=passwords,
            catchall=row[0] if row else None,
        )
        return state, row is not None

    def write_records(self, state: ServiceState) -> set[str]:
        """Upsert the service's rows in one transaction; returns users to kick."""
        d = state.domain
        current, served = self.read_records(d)
        to_kick: set[str] = set()
        have_boxes = {b.email: b for b in current.mailboxes}
        want_boxes = {b.email: b for b in state.mailboxes}
        have_pw = {p.ref: p for p in current.device_passwords}
        want_pw = {p.ref: p for p in state.device_passwords}
        have_fwd = {(f.source, t) for f in current.forwards for t in f.targets}
        want_fwd = {(f.source, t) for f in state.forwards for t in f.targets}
        statements: list[tuple[str, tuple]] = []
        if not served or current.catchall != state.catchall:
            statements.append(
                (
                    "INSERT INTO services (domain, catchall) VALUES (?, ?) "
                    "ON CONFLICT (domain) DO UPDATE SET catchall = excluded.catchall",
                    (d, state.catchall),
                )
            )
        for email, box in want_boxes.items():
            old = have_boxes.get(email)
            if old is None or (old.enabled, old.quota_mb) != (box.enabled, box.quota_mb):
                statements.append(
                    (
                        "INSERT INTO mailboxes (email, domain, quota_mb, enabled) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (email) DO UPDATE SET domain = excluded.domain, "
                        "quota_mb = excluded.quota_mb, enabled = excluded.enabled",
                        (email, d, box.quota_mb, int(box.enabled)),
                    )
                )
                if old is not None and old.enabled and not box.enabled:
                    to_kick.add(email)
        for email in have_boxes.keys() - want_boxes.keys():
            statements.append(("DELETE FROM mailboxes WHERE email = ?", (email,)))
            to_kick.add(email)
        for ref, pw in want_pw.items():
            old = have_pw.get(ref)
            if old != pw:
                statements.append(
                    (
                        "INSERT INTO device_passwords (ref, email, domain, token_sha256, can_send) "
                        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (ref) DO UPDATE SET "
                        "email = excluded.email, domain = excluded.domain, "
                        "token_sha256 = excluded.token_sha256, can_send = excluded.can_send",
                        (ref, pw.email, d, pw.token_sha256, int(pw.can_send)),
                    )
                )
                if old is not None:
                    to_kick.add(old.email)
        for ref in have_pw.keys() - want_pw.keys():
            statements.append(("DELETE FROM device_passwords WHERE ref = ?", (ref,)))
            # Dovecot 2.3 can only end all sessions of a user; the other devices log in again.
            to_kick.add(have_pw[ref].email)
        for source, target in sorted(have_fwd - want_fwd):
            statements.append(
                ("DELETE FROM forwards WHERE source = ? AND target = ?", (source, target))
            )
        for source, target in sorted(want_fwd - have_fwd):
            statements.append(
                (
                    "INSERT INTO forwards (source, target, domain) VALUES (?, ?, ?)",
                    (source, target, d),
                )
            )
        have_grants, want_grants = set(current.sender_grants), set(state.sender_grants)
        for sender, login in sorted(have_grants - want_grants):
            statements.append(
                ("DELETE FROM sender_grants WHERE sender = ? AND login = ?", (sender, login))
            )
        for sender, login in sorted(want_grants - have_grants):
            statements.append(
                ("INSERT INTO sender_grants (sender, login, domain) VALUES (?, ?, ?)",
                 (sender, login, d))
            )
        if statements:
            with self.connect() as db:
                db.execute("BEGIN IMMEDIATE")
                try:
                    for sql, params in statements:
                        db.execute(sql, params)
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
        return to_kick

    def remove_service(self, domain: str) -> list[str]:
        """Delete every row of ``domain``; returns the mailboxes it had (to kick)."""
        with self.connect() as db:
            emails = [
                r[0]
                for r in db.execute("SELECT email FROM mailboxes WHERE domain = ?", (domain,))
            ]
            db.execute("BEGIN IMMEDIATE")
            for table in ("device_passwords", "forwards", "mailboxes", "services", "sender_grants",
                          "sieve_pushed", "sieve_fallback", "sieve_held"):
                db.execute(f"DELETE FROM {table} WHERE domain = ?", (domain,))
            db.execute("COMMIT")
        return emails

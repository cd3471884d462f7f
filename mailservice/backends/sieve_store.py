"""The active Sieve script of each mailbox, read and replaced with ``doveadm sieve``.

What a push made active is remembered in the user database (``sieve_pushed``), so the
next push need not ask Dovecot about 10,000 unchanged mailboxes.

A script is run by the real engine (``sievec``, then ``sieve-test`` on probe messages,
as the API does before saving) before it is activated: one the engine cannot run stays
inactive and the mailbox keeps its script. A script that still makes delivery fail
(Dovecot's log shows its LMTP child dying) is replaced by the one active before it, and
Postfix is asked to retry the mail it deferred. Both are remembered (``sieve_held``) and
reported, so the control plane can say so and a push does not try the script again.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..pigeonhole import SieveToolError, SieveToolMissing, check_script, prove_script
from ..sieve.probe_messages import probe_messages_for_script
from .base import BackendError, ServiceState, SieveHold, script_sha
from .delivery_log import complete_lines, delivery_failures
from .tools import Tools
from .user_db import UserDatabase

log = logging.getLogger(__name__)

# Name of the Sieve script the control plane owns in every mailbox.
SIEVE_SCRIPT_NAME = "mailmanager"
# Read at most this much of Dovecot's log per check; the rest is read by the next one.
MAX_LOG_READ = 16 * 1024 * 1024

__all__ = ["SIEVE_SCRIPT_NAME", "SieveStore", "engine_errors", "script_sha"]


@dataclass(frozen=True)
class _Activation:
    """A mailbox's row of ``sieve_fallback``."""

    email: str
    domain: str
    sha256: str
    script: str | None
    previous: str | None
    log_inode: int
    log_offset: int


class SieveStore:
    def __init__(self, user_db: UserDatabase, tools: Tools, *,
                 email_type_header: str = "X-Mail-Type"):
        self.user_db = user_db
        self.tools = tools
        # The probe messages carry the header the compiled rules test for the mail type.
        self.email_type_header = email_type_header

    def active(self, emails: Sequence[str]) -> dict[str, str | None]:
        """The active Sieve script of each mailbox, in two doveadm calls for any number."""
        scripts: dict[str, str | None] = dict.fromkeys(emails)
        if not emails:
            return scripts
        with tempfile.TemporaryDirectory(prefix="mm-doveadm-") as tmp:
            users = Path(tmp) / "users"
            users.write_text("".join(f"{e}\n" for e in emails))
            listing = self.tools.doveadm_json("sieve", "list", "-F", str(users))
            active: dict[str, list[str]] = {}
            for row in listing:
                if row.get("active") == "ACTIVE" and row.get("username") in scripts:
                    active.setdefault(row["script"], []).append(row["username"])
            for name, owners in active.items():
                users.write_text("".join(f"{e}\n" for e in owners))
                for row in self.tools.doveadm_json("sieve", "get", "-F", str(users), name):
                    if row.get("username") in scripts:
                        scripts[row["username"]] = row.get("sieve script", "")
        return scripts

    def held(self, domain: str) -> dict[str, SieveHold]:
        """The scripts held back in the domain's mailboxes, by mailbox."""
        with self.user_db.connect() as db:
            return _held(db, domain)

    def sync(self, state: ServiceState) -> tuple[SieveHold, ...]:
        """Make each mailbox's active script the desired one, except those the engine
        cannot run; returns every mailbox of the state held back now."""
        emails = [box.email for box in state.mailboxes]
        with self.user_db.connect() as db:
            recorded = dict(db.execute(
                "SELECT email, sha256 FROM sieve_pushed WHERE domain = ?", (state.domain,)))
            activations = _activations(db, "domain = ?", (state.domain,))
            held = _held(db, state.domain)
        current = {e: recorded[e] for e in emails if e in recorded}
        unknown = [e for e in emails if e not in recorded]
        # The text of what is active now, where known: it becomes the script to fall
        # back to when the next one is activated.
        texts: dict[str, str | None] = {}
        if unknown:
            read = self.active(unknown)
            texts.update(read)
            current.update((e, script_sha(s)) for e, s in read.items())
        for email, row in activations.items():
            if email not in texts and current.get(email) == row.sha256:
                texts[email] = row.script
        settled: list[tuple[str, str]] = [(e, current[e]) for e in unknown]
        activated: list[tuple] = []
        holds: list[SieveHold] = []
        new_holds: list[SieveHold] = []
        for box in state.mailboxes:
            want = script_sha(box.sieve_script)
            hold = held.get(box.email)
            if hold is not None and hold.sha256 != want:
                hold = None  # the desired script changed: the old hold no longer applies
            if current[box.email] == want:
                continue
            if hold is not None:
                holds.append(hold)  # known not to run: do not try it again
                continue
            if box.sieve_script is not None:
                errors = engine_errors_or_none(box.sieve_script, self.email_type_header)
                if errors:
                    hold = SieveHold(email=box.email, sha256=want, kind=SieveHold.REFUSED,
                                     reason="; ".join(errors)[:2000], at=time.time())
                    holds.append(hold)
                    new_holds.append(hold)
                    continue
            # The control plane owns the active script: one the user uploaded over
            # ManageSieve is replaced (or deactivated when the state has none).
            if box.sieve_script is None:
                self._deactivate(box.email)
            else:
                # -a activates it; doveadm compiles first, so an invalid script fails
                # here and the old one stays active.
                self.tools.doveadm(
                    "sieve", "put", "-a", "-u", box.email, SIEVE_SCRIPT_NAME, input=box.sieve_script
                )
            # Marked once active: a failure logged before this was the old script's.
            inode, offset = self._log_mark()
            settled.append((box.email, want))
            activated.append((box.email, state.domain, want, box.sieve_script,
                              texts.get(box.email), inode, offset))
        kept = {(h.email, h.sha256) for h in holds}
        dropped = [(e,) for e, h in held.items() if (e, h.sha256) not in kept]
        gone = [(e,) for e in activations.keys() - set(emails)]  # mailboxes removed
        if settled or activated or new_holds or dropped or gone:
            with self.user_db.connect() as db:
                db.execute("BEGIN IMMEDIATE")
                _record_pushed(db, [(e, state.domain, sha) for e, sha in settled])
                _record_activations(db, activated)
                db.executemany("DELETE FROM sieve_fallback WHERE email = ?", gone)
                db.executemany("DELETE FROM sieve_held WHERE email = ?", dropped)
                _record_holds(db, state.domain, new_holds)
                db.execute("COMMIT")
        return tuple(holds)

    def check_deliveries(self) -> list[SieveHold]:
        """Read Dovecot's log from where the last check stopped; for each mailbox whose
        LMTP delivery died while a pushed script was active, put the script active
        before it back (or none), and ask Postfix to retry its deferred mail now."""
        path = self.tools.config.dovecot_log
        if path is None:
            return []
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            return []
        with self.user_db.connect() as db:
            row = db.execute("SELECT inode, offset FROM log_cursor WHERE path = ?",
                             (str(path),)).fetchone()
        start = 0
        if row is not None and row[0] == stat.st_ino and row[1] <= stat.st_size:
            start = row[1]  # else: a first look, or a rotated or truncated log
        try:
            with open(path, "rb") as handle:
                handle.seek(start)
                data = handle.read(MAX_LOG_READ)
        except OSError as exc:
            raise BackendError(f"reading {path}: {exc}", permanent=False) from exc
        lines, end = complete_lines(data, start)
        if len(data) == MAX_LOG_READ and end == start:
            end = start + len(data)  # one line longer than a whole read: skip it
        holds: list[SieveHold] = []
        failures = delivery_failures(lines)
        if failures:
            emails = sorted({f.email for f in failures})
            with self.user_db.connect() as db:
                marks = ",".join("?" * len(emails))
                activations = _activations(db, f"email IN ({marks})", emails)
            for failure in failures:
                activation = activations.get(failure.email)
                if activation is None or activation.sha256 == "":
                    continue  # no script of ours was running: not a Sieve failure to undo
                if activation.log_inode == stat.st_ino and failure.offset < activation.log_offset:
                    continue  # logged before this script became active: an older one's
                hold, activations[failure.email] = self._fall_back(activation, failure.reason)
                holds.append(hold)
                log.warning("Sieve script of %s stopped delivery (%s); %s", failure.email,
                            failure.reason, "previous script restored" if hold.restored
                            else "no script active")
            if holds:
                self.tools.flush_queue()
        with self.user_db.connect() as db:
            db.execute(
                "INSERT INTO log_cursor (path, inode, offset) VALUES (?, ?, ?) "
                "ON CONFLICT (path) DO UPDATE SET inode = excluded.inode, offset = excluded.offset",
                (str(path), stat.st_ino, end),
            )
        return holds

    def forget(self, domain: str) -> None:
        """Drop the record of the domain's pushed scripts, so the next sync() asks Dovecot."""
        with self.user_db.connect() as db:
            db.execute("DELETE FROM sieve_pushed WHERE domain = ?", (domain,))

    # ---------------------------------------------------------------------------------

    def _deactivate(self, email: str) -> None:
        self.tools.doveadm("sieve", "deactivate", "-u", email)
        self.tools.doveadm("sieve", "delete", "-u", email, SIEVE_SCRIPT_NAME, ok_codes=(0, 68))

    def _log_mark(self) -> tuple[int, int]:
        """Where Dovecot's log ends now ((0, 0) when it is not watched)."""
        path = self.tools.config.dovecot_log
        if path is None:
            return 0, 0
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            return 0, 0
        return stat.st_ino, stat.st_size

    def _fall_back(self, failed: _Activation, reason: str) -> tuple[SieveHold, _Activation]:
        """Replace the failed script with the one before it, or with none when there was
        none or it is the one that failed (a restored script failing in its turn)."""
        previous = failed.previous
        if previous is not None and script_sha(previous) == failed.sha256:
            previous = None
        if previous is None:
            self._deactivate(failed.email)
        else:
            self.tools.doveadm("sieve", "put", "-a", "-u", failed.email, SIEVE_SCRIPT_NAME,
                               input=previous)
        inode, offset = self._log_mark()
        now_active = _Activation(email=failed.email, domain=failed.domain,
                                 sha256=script_sha(previous), script=previous, previous=None,
                                 log_inode=inode, log_offset=offset)
        hold = SieveHold(email=failed.email, sha256=failed.sha256, kind=SieveHold.STOPPED_DELIVERY,
                         reason=reason, at=time.time(), restored=previous is not None)
        with self.user_db.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            _record_pushed(db, [(failed.email, failed.domain, now_active.sha256)])
            _record_activations(db, [(now_active.email, now_active.domain, now_active.sha256,
                                      now_active.script, None, inode, offset)])
            db.execute("DELETE FROM sieve_held WHERE email = ?", (failed.email,))
            _record_holds(db, failed.domain, [hold])
            db.execute("COMMIT")
        return hold, now_active


def engine_errors_or_none(script: str, email_type_header: str) -> tuple[str, ...]:
    """The engine's errors for ``script`` ([] when it runs); without Pigeonhole's tools on
    this host, none (doveadm still compiles it, and the delivery watch remains)."""
    try:
        return engine_errors(script, email_type_header)
    except SieveToolMissing as exc:
        log.warning("Sieve script activated without the engine's check: %s", exc)
        return ()
    except SieveToolError as exc:
        raise BackendError(f"checking a Sieve script: {exc}", permanent=False) from exc


@lru_cache(maxsize=1024)
def engine_errors(script: str, email_type_header: str = "X-Mail-Type") -> tuple[str, ...]:
    """What stops the engine on ``script``: sievec's errors, else what running it on the
    probe messages (every header the script's tests name is present) made fail.
    Remembered per script: a template applied to many mailboxes is run once."""
    errors = check_script(script) or prove_script(
        script, probe_messages_for_script(script, email_type_header=email_type_header))
    return tuple(str(error) for error in errors)


def _held(db: sqlite3.Connection, domain: str) -> dict[str, SieveHold]:
    return {
        email: SieveHold(email=email, sha256=sha, kind=kind, reason=reason, at=at,
                         restored=bool(restored))
        for email, sha, kind, reason, at, restored in db.execute(
            "SELECT email, sha256, kind, reason, at, restored FROM sieve_held WHERE domain = ?",
            (domain,))
    }


def _activations(db: sqlite3.Connection, where: str, params: Sequence) -> dict[str, _Activation]:
    rows = db.execute(
        "SELECT email, domain, sha256, script, previous, log_inode, log_offset "
        f"FROM sieve_fallback WHERE {where}", tuple(params))
    return {row[0]: _Activation(*row) for row in rows}


def _record_pushed(db: sqlite3.Connection, rows: list[tuple[str, str, str]]) -> None:
    db.executemany(
        "INSERT INTO sieve_pushed (email, domain, sha256) VALUES (?, ?, ?) "
        "ON CONFLICT (email) DO UPDATE SET sha256 = excluded.sha256, domain = excluded.domain",
        rows,
    )


def _record_activations(db: sqlite3.Connection, rows: list[tuple]) -> None:
    db.executemany(
        "INSERT INTO sieve_fallback (email, domain, sha256, script, previous, log_inode, "
        "log_offset) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (email) DO UPDATE SET "
        "domain = excluded.domain, sha256 = excluded.sha256, script = excluded.script, "
        "previous = excluded.previous, log_inode = excluded.log_inode, "
        "log_offset = excluded.log_offset",
        rows,
    )


def _record_holds(db: sqlite3.Connection, domain: str, holds: list[SieveHold]) -> None:
    db.executemany(
        "INSERT INTO sieve_held (email, domain, sha256, kind, reason, at, restored) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (email) DO UPDATE SET "
        "domain = excluded.domain, sha256 = excluded.sha256, kind = excluded.kind, "
        "reason = excluded.reason, at = excluded.at, restored = excluded.restored",
        [(h.email, domain, h.sha256, h.kind, h.reason, h.at, int(h.restored)) for h in holds],
    )

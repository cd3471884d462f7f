"""The active Sieve script of each mailbox, read and replaced with ``doveadm sieve``.

What a push made active is remembered in the user database (``sieve_pushed``), so the
next push need not ask Dovecot about 10,000 unchanged mailboxes.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .base import ServiceState
from .tools import Tools
from .user_db import UserDatabase

# Name of the Sieve script the control plane owns in every mailbox.
SIEVE_SCRIPT_NAME = "mailmanager"


class SieveStore:
    def __init__(self, user_db: UserDatabase, tools: Tools):
        self.user_db = user_db
        self.tools = tools

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

    def sync(self, state: ServiceState) -> None:
        emails = [box.email for box in state.mailboxes]
        with self.user_db.connect() as db:
            recorded = dict(db.execute(
                "SELECT email, sha256 FROM sieve_pushed WHERE domain = ?", (state.domain,)))
        current = {e: recorded[e] for e in emails if e in recorded}
        unknown = [e for e in emails if e not in recorded]
        if unknown:
            current.update((e, script_sha(s)) for e, s in self.active(unknown).items())
        settled: list[tuple[str, str]] = [(e, current[e]) for e in unknown]
        for box in state.mailboxes:
            want = script_sha(box.sieve_script)
            if current[box.email] == want:
                continue
            # The control plane owns the active script: one the user uploaded over
            # ManageSieve is replaced (or deactivated when the state has none).
            if box.sieve_script is None:
                self.tools.doveadm("sieve", "deactivate", "-u", box.email)
                self.tools.doveadm(
                    "sieve", "delete", "-u", box.email, SIEVE_SCRIPT_NAME, ok_codes=(0, 68)
                )
            else:
                # -a activates it; doveadm compiles first, so an invalid script fails
                # here and the old one stays active.
                self.tools.doveadm(
                    "sieve", "put", "-a", "-u", box.email, SIEVE_SCRIPT_NAME, input=box.sieve_script
                )
            settled.append((box.email, want))
        if settled:
            with self.user_db.connect() as db:
                db.execute("BEGIN IMMEDIATE")
                db.executemany(
                    "INSERT INTO sieve_pushed (email, domain, sha256) VALUES (?, ?, ?) "
                    "ON CONFLICT (email) DO UPDATE SET sha256 = excluded.sha256, "
                    "domain = excluded.domain",
                    [(e, state.domain, sha) for e, sha in settled],
                )
                db.execute("COMMIT")

    def forget(self, domain: str) -> None:
        """Drop the record of the domain's pushed scripts, so the next sync() asks Dovecot."""
        with self.user_db.connect() as db:
            db.execute("DELETE FROM sieve_pushed WHERE domain = ?", (domain,))


def script_sha(script: str | None) -> str:
    """A fingerprint of an active Sieve script; "" for none."""
    return "" if script is None else hashlib.sha256(script.encode()).hexdigest()

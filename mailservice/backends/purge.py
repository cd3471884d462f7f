"""Deleting a removed mailbox's data for good: its mail home (mail, folders, Sieve scripts)
and what the user database still holds about it. Only for mailboxes the backend no
longer serves: a push removes them first, the purge comes after the grace period."""

from __future__ import annotations

import contextlib
import re
import shutil
from pathlib import Path

from .base import BackendError
from .render import DOMAIN_RE, LOCAL_RE
from .tools import Tools
from .user_db import UserDatabase

# The Dovecot variables a mail_home may use that are known from the address alone.
_VARIABLES = {"u": "email", "n": "local", "d": "domain", "user": "email", "username": "local",
              "domain": "domain"}
_VARIABLE_RE = re.compile(r"%(?:(L?)([und])|\{(user|username|domain)\}|(%))")
# Tables keyed by mailbox address (user_db.SCHEMA); services and forwards go by domain.
_MAILBOX_TABLES = ("device_passwords", "sieve_pushed", "sieve_fallback", "sieve_held")


class MailboxPurge:
    """Callers hold the adapter's lock."""

    def __init__(self, user_db: UserDatabase, tools: Tools):
        self.user_db = user_db
        self.tools = tools
        self._template: str | None = None

    def mailbox(self, email: str) -> bool:
        """Delete the data of one mailbox; True if its home existed. Idempotent."""
        email = _address(email)
        with self.user_db.connect() as db:
            if db.execute("SELECT 1 FROM mailboxes WHERE email = ?", (email,)).fetchone():
                raise BackendError(f"{email} is still served: push its removal first",
                                   permanent=False)
            db.execute("BEGIN IMMEDIATE")
            for table in _MAILBOX_TABLES:
                db.execute(f"DELETE FROM {table} WHERE email = ?", (email,))
            db.execute("DELETE FROM forwards WHERE source = ?", (email,))
            db.execute("COMMIT")
        return self._remove_home(email)

    def service(self, domain: str, emails: list[str]) -> int:
        """Delete the data of every mailbox a removed service had, then the service's
        remaining rows and its domain directory if mail homes are grouped by domain.
        Returns how many homes existed."""
        domain = domain.strip().lower().rstrip(".")
        if not DOMAIN_RE.match(domain):
            raise BackendError(f"invalid domain {domain!r}", permanent=True)
        with self.user_db.connect() as db:
            if db.execute("SELECT 1 FROM services WHERE domain = ?", (domain,)).fetchone():
                raise BackendError(f"{domain} is still served: push its removal first",
                                   permanent=False)
        found = sum(self.mailbox(email) for email in emails)
        self.user_db.remove_service(domain)  # rows a partial push may have left
        template = self.template()
        if template.endswith("/%d/%n") or template.endswith("/%Ld/%Ln"):
            domain_dir = Path(template.rsplit("/", 2)[0]) / domain
            # Only if empty: never the mail of an address we were not told about.
            with contextlib.suppress(OSError):
                domain_dir.rmdir()
        return found

    def template(self) -> str:
        """Dovecot's own mail_home: where homes are is Dovecot's setting, not ours."""
        if self._template is None:
            out = self.tools.doveadm("config", "-h", "mail_home").stdout.strip()
            if not out.startswith("/") or "%" not in out:
                raise BackendError(f"mail_home {out!r} is not a per-user absolute path",
                                   permanent=True)
            self._template = out
        return self._template

    def home(self, email: str) -> Path:
        """The mail home of `email`, which must lie strictly under the fixed part of
        mail_home (so a bad value can never point the purge at something else)."""
        email = _address(email)
        local, _, domain = email.rpartition("@")
        values = {"email": email, "local": local, "domain": domain}
        template = self.template()

        def expand(match: re.Match) -> str:
            if match.group(4):
                return "%"
            return values[_VARIABLES[match.group(2) or match.group(3)]]

        if "%" in _VARIABLE_RE.sub("", template):
            raise BackendError(f"mail_home {template!r} uses variables the purge cannot expand",
                               permanent=True)
        root = Path(template.split("%", 1)[0].rsplit("/", 1)[0] or "/")
        home = Path(_VARIABLE_RE.sub(expand, template))
        if root == Path("/") or root not in home.parents or ".." in home.parts:
            raise BackendError(f"mail home {home} of {email} is not under {root}", permanent=True)
        return home

    def _remove_home(self, email: str) -> bool:
        home = self.home(email)
        if home.is_symlink():
            raise BackendError(f"mail home {home} is a symbolic link; not following it",
                               permanent=True)
        if not home.exists():
            return False
        try:
            shutil.rmtree(home)
        except OSError as exc:
            raise BackendError(f"could not delete {home}: {exc}", permanent=False) from exc
        return True


def _address(email: str) -> str:
    address = email.strip().lower()
    local, _, domain = address.rpartition("@")
    # "/" would reach outside the domain's directory; "." and ".." name directories.
    if not (LOCAL_RE.match(local) and DOMAIN_RE.match(domain)) or "/" in local or local in {".", ".."}:
        raise BackendError(f"{email!r} is not a mailbox address", permanent=True)
    return address

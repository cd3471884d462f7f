"""Each served mailbox's INBOX made by the push that first serves it, before Postfix
routes mail to it.

Left to the first delivery, two deliveries arriving together (an alias copy and a
redirection's kept copy) both create the INBOX, and Dovecot 2.3 fails both: one panics on
the mailbox-list index lock (EDEADLK), the other answers "451 Mailbox already exists";
Postfix then holds the mail for its retry backoff (five minutes). An INBOX that exists
is opened, never created, on delivery. Only Maildir locations under the home
(`maildir:~/…`) are made here; any other location is left to Dovecot, as before."""

from __future__ import annotations

import grp
import logging
import os
import pwd
from collections.abc import Iterable
from pathlib import Path

from .base import BackendError
from .purge import MailboxPurge
from .tools import Tools

log = logging.getLogger(__name__)

MAILDIR_PARTS = ("cur", "new", "tmp")


class Inboxes:
    """Callers hold the adapter's lock."""

    def __init__(self, tools: Tools, purge: MailboxPurge):
        self.tools, self.purge = tools, purge
        self._layout: tuple[str, int, int] | None | bool = False  # not asked yet

    def layout(self) -> tuple[str, int, int] | None:
        """(the Maildir's path inside the home, mail uid, mail gid) from Dovecot's own
        settings; None when its mail location is not a Maildir in the home."""
        if self._layout is False:
            location = self._setting("mail_location")
            kind, _, rest = location.partition(":")
            path = rest.split(":", 1)[0]
            if kind != "maildir" or not path.startswith("~/") or ".." in path.split("/"):
                self._layout = None
            else:
                self._layout = (path[2:].strip("/"), _user_id(self._setting("mail_uid")),
                                _group_id(self._setting("mail_gid")))
        return self._layout

    def ensure(self, emails: Iterable[str]) -> int:
        """Make the INBOX of each mailbox that has none; how many were made. Best effort:
        a failure is logged, and that mailbox's first delivery makes its INBOX as before."""
        try:
            layout = self.layout()
        except (KeyError, ValueError, BackendError) as exc:
            log.warning("no INBOX made ahead: Dovecot's mail settings: %s", exc)
            return 0
        if layout is None:
            return 0
        inside, uid, gid = layout
        if os.geteuid() not in (0, uid):
            return 0  # folders of another owner would keep Dovecot out of them
        made = 0
        for email in emails:
            try:
                home = self.purge.home(email)
                maildir = home / inside if inside else home
                if (maildir / "cur").is_dir():
                    continue
                root = Path(self.purge.template().split("%", 1)[0].rsplit("/", 1)[0] or "/")
                for folder in (*_missing_between(root, maildir), *(maildir / p for p in MAILDIR_PARTS)):
                    _make(folder, uid, gid)
                made += 1
            except (OSError, BackendError) as exc:
                log.warning("could not make the INBOX of %s: %s", email, exc)
        return made

    def _setting(self, name: str) -> str:
        return self.tools.doveadm("config", "-h", name).stdout.strip()


def _missing_between(root: Path, target: Path) -> list[Path]:
    """The folders from just under ``root`` down to ``target`` that do not exist yet."""
    missing = []
    for folder in (target, *target.parents):
        if folder == root or folder.exists():
            break
        missing.append(folder)
    return list(reversed(missing))


def _make(folder: Path, uid: int, gid: int) -> None:
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        return  # a delivery made it meanwhile: it is Dovecot's
    if os.geteuid() != uid:
        os.chown(folder, uid, gid)


def _user_id(value: str) -> int:
    return int(value) if value.isdigit() else pwd.getpwnam(value).pw_uid


def _group_id(value: str) -> int:
    return int(value) if value.isdigit() else grp.getgrnam(value).gr_gid

"""Running doveadm and postfix, their failures sorted into transient and permanent."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence

from .base import BackendError
from .config import DovecotPostfixConfig
from .render import DOMAIN_RE, LOCAL_RE

# doveadm's sysexits: EX_TEMPFAIL; connection failures come with other codes.
_TRANSIENT_CODES = {75}
_TRANSIENT_WORDS = (
    "connect(",
    "connection refused",
    "timed out",
    "timeout",
    "not running",
    "temporary",
    # Two Dovecot processes locking one mailbox's indexes (a delivery creating the INBOX
    # while doveadm opens it): the kernel answers EDEADLK, Dovecot panics; the next try
    # finds the locks free.
    "resource deadlock avoided",
)


class Tools:
    """The command-line tools of one Dovecot + Postfix pair, each call given that pair's -c."""

    def __init__(self, config: DovecotPostfixConfig):
        self.config = config

    def kick(self, email: str) -> None:
        # doveadm kick answers "no users kicked" with status 68: not an error.
        self.doveadm("kick", doveadm_user(email), ok_codes=(0, 68))

    def reload_postfix(self) -> None:
        self.run([self.config.postfix, "-c", str(self.config.postfix_dir), "reload"])

    def flush_queue(self) -> None:
        """Ask Postfix to retry every deferred message now (after a script was replaced)."""
        self.run([self.config.postqueue, "-c", str(self.config.postfix_dir), "-f"])

    def doveadm(
        self, *args: str, input: str | None = None, ok_codes: Sequence[int] | None = (0,)
    ) -> subprocess.CompletedProcess:
        return self.run(
            [self.config.doveadm, "-c", str(self.config.dovecot_conf), *args],
            input=input,
            ok_codes=ok_codes,
        )

    def doveadm_json(self, *args: str) -> list[dict]:
        proc = self.doveadm("-f", "json", *args, ok_codes=None)
        try:
            rows = json.loads(proc.stdout or "[]")
        except json.JSONDecodeError as exc:
            raise BackendError(
                f"doveadm {' '.join(args[:2])}: unreadable output ({exc})", permanent=False
            ) from exc
        # With -F, a user lacking the item makes the status non-zero but the rows are valid;
        # anything else (no output at all) is a real failure.
        if proc.returncode != 0 and not rows and proc.returncode != 68:
            message = proc.stderr.strip() or f"exit status {proc.returncode}"
            raise BackendError(
                f"doveadm {' '.join(args[:2])}: {message}",
                permanent=not is_transient(proc.returncode, message),
            )
        return rows

    def run(
        self, argv: list[str], *, input: str | None = None, ok_codes: Sequence[int] | None = (0,)
    ) -> subprocess.CompletedProcess:
        if os.sep not in argv[0]:
            search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin"])
            argv = [shutil.which(argv[0], path=search) or argv[0], *argv[1:]]
        try:
            proc = subprocess.run(
                argv,
                input=input,
                capture_output=True,
                text=True,
                timeout=self.config.timeout,
                check=False,
            )
        except FileNotFoundError as exc:
            raise BackendError(f"{argv[0]}: not installed ({exc})", permanent=True) from exc
        except PermissionError as exc:
            raise BackendError(f"{argv[0]}: {exc}", permanent=True) from exc
        except subprocess.TimeoutExpired as exc:
            raise BackendError(
                f"{_label(argv)}: timed out after {exc.timeout}s", permanent=False
            ) from exc
        if ok_codes is not None and proc.returncode not in ok_codes:
            message = (proc.stderr or proc.stdout).strip() or f"exit status {proc.returncode}"
            raise BackendError(
                f"{_label(argv)}: {message}",
                permanent=not is_transient(proc.returncode, message),
            )
        return proc


def is_transient(returncode: int, message: str) -> bool:
    lowered = message.lower()
    return returncode in _TRANSIENT_CODES or any(word in lowered for word in _TRANSIENT_WORDS)


def doveadm_user(email: str) -> str:
    """A mailbox address as doveadm's -u wants it; refuses what doveadm reads as a user mask."""
    address = email.strip().lower()
    local, _, domain = address.rpartition("@")
    if not (LOCAL_RE.match(local) and DOMAIN_RE.match(domain)):
        raise BackendError(f"{email!r} is not a mailbox address", permanent=True)
    return address


def _label(argv: Sequence[str]) -> str:
    """A command for an error message: program and sub-command, without "-c CONFIG"."""
    words = [os.path.basename(argv[0])]
    skip = False
    for arg in argv[1:]:
        if skip or arg in ("-c", "-f"):  # options with a value before the sub-command
            skip = not skip
            continue
        if arg.startswith("-") or len(words) == 3:
            break
        words.append(arg)
    return " ".join(words)

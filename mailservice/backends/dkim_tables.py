"""The DKIM signer's files on a backend host (OpenDKIM, BACKENDS-2.md §2): one key file per
domain and selector, the KeyTable and SigningTable naming them, rewritten atomically from
the desired state, then `SIGUSR1` to the signer (its pid file) so it reads the tables
again: a new domain is signed without a restart.

The tables hold every domain of the host; a write replaces one domain's lines. The render
and parse functions are pure; `DkimTables` does the file I/O. Callers hold the adapter's
lock (dovecot_postfix.py), so two pushes never rewrite the tables at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import re
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .base import BackendError, DkimState
from .config import DovecotPostfixConfig

KEY_TABLE = "KeyTable"
SIGNING_TABLE = "SigningTable"
# The hash of the tables the signer was last told to read: a signal that failed (signer
# down) is sent again by the next write, even when the tables no longer change.
SIGNALLED = ".signalled"
SELECTOR_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
DOMAIN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$")


@dataclass(frozen=True, order=True)
class SigningEntry:
    """One domain signed with one key: `<selector>._domainkey.<domain>` in both tables."""

    domain: str
    selector: str
    key_path: str

    @property
    def key_name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"


# --- pure: the tables as text ---------------------------------------------------------

def render_key_table(entries) -> str:
    return "".join(f"{e.key_name} {e.domain}:{e.selector}:{e.key_path}\n" for e in sorted(entries))


def render_signing_table(entries) -> str:
    # refile: "*" is the only wildcard, the dots of the domain are literal.
    return "".join(f"*@{e.domain} {e.key_name}\n" for e in sorted(entries))


def parse_key_table(text: str) -> list[SigningEntry]:
    entries = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        _name, _sep, value = line.partition(" ")
        domain, selector, key_path = (value.strip().split(":", 2) + ["", ""])[:3]
        if domain and selector:
            entries.append(SigningEntry(domain=domain.lower(), selector=selector, key_path=key_path))
    return entries


def replace_domain(entries, domain: str, entry: SigningEntry | None) -> list[SigningEntry]:
    """The host's entries with `domain`'s replaced by `entry` (None: removed)."""
    kept = [e for e in entries if e.domain != domain]
    return sorted(kept + ([entry] if entry is not None else []))


def key_file_name(domain: str, selector: str) -> str:
    return f"{domain}.{selector}.private"


def check_state(domain: str, dkim: DkimState | None) -> None:
    """Refuse what the tables cannot hold (a space, a colon or a line break would change
    their meaning); raises ValueError."""
    if not DOMAIN_RE.match(domain):
        raise ValueError(f"invalid domain {domain!r}")
    if dkim is None:
        return
    if not SELECTOR_RE.match(dkim.selector):
        raise ValueError(f"invalid DKIM selector {dkim.selector!r}")
    if "PRIVATE KEY-----" not in dkim.private_key:
        raise ValueError(f"DKIM key {dkim.selector}: not a PEM private key")


# --- the files ------------------------------------------------------------------------

class DkimTables:
    def __init__(self, config: DovecotPostfixConfig):
        self.config = config

    @property
    def enabled(self) -> bool:
        return self.config.dkim_dir is not None and self.config.dkim_keys_dir is not None

    def _table(self, name: str) -> Path:
        return self.config.dkim_dir / name

    def _entries(self) -> list[SigningEntry]:
        try:
            return parse_key_table(self._table(KEY_TABLE).read_text())
        except FileNotFoundError:
            return []

    def read(self, domain: str) -> DkimState | None:
        """The key the signer's files sign `domain` with, or None."""
        if not self.enabled:
            return None
        signing = self._signed_domains()
        for entry in self._entries():
            if entry.domain == domain and domain in signing:
                try:
                    key = Path(entry.key_path).read_text()
                except OSError:
                    key = ""
                return DkimState(selector=entry.selector, private_key=key)
        return None

    def _signed_domains(self) -> set[str]:
        try:
            text = self._table(SIGNING_TABLE).read_text()
        except FileNotFoundError:
            return set()
        return {line.split()[0].removeprefix("*@").lower()
                for line in text.splitlines() if line.strip() and not line.startswith("#")}

    def write(self, domain: str, dkim: DkimState | None) -> bool:
        """Make the signer sign `domain` with `dkim` (None: not at all); True if the signer
        was told to read its tables again. Idempotent: unchanged files are not rewritten."""
        if not self.enabled:
            if dkim is not None:
                raise BackendError("this backend host has no DKIM signer configured (dkim_dir)",
                                   permanent=True)
            return False
        try:
            check_state(domain, dkim)
        except ValueError as exc:
            raise BackendError(str(exc), permanent=True) from exc
        try:
            entry = None
            if dkim is not None:
                key_path = self.config.dkim_keys_dir / key_file_name(domain, dkim.selector)
                self._write_key(key_path, dkim.private_key)
                entry = SigningEntry(domain=domain, selector=dkim.selector, key_path=str(key_path))
            entries = replace_domain(self._entries(), domain, entry)
            self._write_table(KEY_TABLE, render_key_table(entries))
            self._write_table(SIGNING_TABLE, render_signing_table(entries))
            self._remove_unused_keys(domain, entry)
        except OSError as exc:  # a missing or unwritable folder: the host's setup is wrong
            raise BackendError(f"DKIM tables: {exc}", permanent=True) from exc
        return self._signal_if_changed()

    def remove(self, domain: str) -> bool:
        return self.write(domain, None)

    def _write_key(self, path: Path, pem: str) -> None:
        text = pem.strip() + "\n"
        with contextlib.suppress(FileNotFoundError):
            if path.read_text() == text:
                return
        # The signer reads the key at each message: replace it whole, never half-written.
        _atomic_write(path, text, mode=0o600, owner=self._owner())

    def _write_table(self, name: str, text: str) -> None:
        path = self._table(name)
        with contextlib.suppress(FileNotFoundError):
            if path.read_text() == text:
                return
        _atomic_write(path, text, mode=0o644, owner=None)

    def _remove_unused_keys(self, domain: str, entry: SigningEntry | None) -> None:
        """The domain's other key files: a rotated-out key is not kept on the host."""
        keep = entry.key_path if entry else None
        for path in self.config.dkim_keys_dir.glob(f"{domain}.*.private"):
            if str(path) != keep and path.name.count(".") == domain.count(".") + 2:
                path.unlink(missing_ok=True)

    def _owner(self) -> tuple[int, int] | None:
        """The signer's user, when this worker may give files away (it runs as root)."""
        if not self.config.dkim_user or os.geteuid() != 0:
            return None
        try:
            user = pwd.getpwnam(self.config.dkim_user)
        except KeyError as exc:
            raise BackendError(f"DKIM signer user {self.config.dkim_user!r} does not exist",
                               permanent=True) from exc
        return user.pw_uid, user.pw_gid

    def _tables_hash(self) -> str:
        digest = hashlib.sha256()
        for name in (KEY_TABLE, SIGNING_TABLE):
            with contextlib.suppress(FileNotFoundError):
                digest.update(self._table(name).read_bytes())
            digest.update(b"\0")
        return digest.hexdigest()

    def _signal_if_changed(self) -> bool:
        current = self._tables_hash()
        marker = self._table(SIGNALLED)
        with contextlib.suppress(FileNotFoundError):
            if marker.read_text().strip() == current:
                return False
        self.signal()
        _atomic_write(marker, current + "\n", mode=0o644, owner=None)
        return True

    def signal(self) -> None:
        """SIGUSR1 to the signer: it reloads its configuration, tables included."""
        pid_file = self.config.opendkim_pid_file
        if pid_file is None:
            raise BackendError("no OpenDKIM pid file configured (opendkim_pid_file)",
                               permanent=True)
        try:
            pid = int(pid_file.read_text().split()[0])
            os.kill(pid, signal.SIGUSR1)
        except (FileNotFoundError, ValueError, IndexError, ProcessLookupError) as exc:
            raise BackendError(f"OpenDKIM is not running (pid file {pid_file}): {exc}",
                               permanent=False) from exc
        except PermissionError as exc:
            raise BackendError(f"may not signal OpenDKIM (pid file {pid_file}): {exc}",
                               permanent=True) from exc


def _atomic_write(path: Path, text: str, *, mode: int, owner: tuple[int, int] | None) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        if owner is not None:
            os.chown(tmp, *owner)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise

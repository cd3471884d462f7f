"""The signature milter's data file on a backend host (signatures/milter.py): one JSON
object, `{address: {"html", "text", "enabled", "on_replies", "marker"}}`, for every
address of every domain the host serves that has a signature to stamp.

The worker writes it from each service's desired state (a push replaces one domain's
entries), atomically (a new file renamed over the old one), and the milter reads it again
when it changes: a signature change is stamped on the next message, with no database
call per message and no signal. Callers hold the adapter's lock (dovecot_postfix.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path

from .base import BackendError, StampState
from .config import DovecotPostfixConfig
from .dkim_tables import _atomic_write as atomic_write


def marker(html: str, text: str) -> str:
    """The marker header's value: names the signature stamped (changes with its content)."""
    return hashlib.sha256(f"{html}\0{text}".encode()).hexdigest()[:16]


# --- pure: the file's content ---------------------------------------------------------

def entry(stamp: StampState) -> dict:
    return {"html": stamp.html, "text": stamp.text, "enabled": stamp.enabled,
            "on_replies": stamp.on_replies, "marker": marker(stamp.html, stamp.text)}


def replace_domain(data: dict, domain: str, stamps) -> dict:
    """The host's entries with `domain`'s replaced by `stamps`."""
    suffix = "@" + domain.lower()
    kept = {email: value for email, value in data.items() if not email.endswith(suffix)}
    kept.update({stamp.email.lower(): entry(stamp) for stamp in stamps})
    return dict(sorted(kept.items()))


def render(data: dict) -> str:
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def parse(text: str) -> dict:
    data = json.loads(text or "{}")
    if not isinstance(data, dict):
        raise ValueError("the signature file is not a JSON object")
    return data


def stamps_of(data: dict, domain: str) -> tuple[StampState, ...]:
    suffix = "@" + domain.lower()
    return tuple(StampState(email=email, html=str(value.get("html", "")),
                            text=str(value.get("text", "")),
                            enabled=bool(value.get("enabled", True)),
                            on_replies=bool(value.get("on_replies", False)))
                 for email, value in sorted(data.items())
                 if email.endswith(suffix) and isinstance(value, dict))


# --- the file -------------------------------------------------------------------------

class SignatureFile:
    def __init__(self, config: DovecotPostfixConfig):
        self.path: Path | None = config.signatures_file

    def _data(self) -> dict:
        try:
            return parse(self.path.read_text())
        except FileNotFoundError:
            return {}
        except ValueError as exc:
            raise BackendError(f"signature file {self.path}: {exc}", permanent=True) from exc

    def read(self, domain: str) -> tuple[StampState, ...]:
        if self.path is None:
            return ()
        return stamps_of(self._data(), domain)

    def write(self, domain: str, stamps) -> bool:
        """Make the milter stamp `stamps` for `domain`; True if the file changed."""
        stamps = tuple(stamps)
        if self.path is None:
            if stamps:
                raise BackendError("this backend host has no signature milter configured "
                                   "(signatures_file)", permanent=True)
            return False
        text = render(replace_domain(self._data(), domain, stamps))
        with contextlib.suppress(FileNotFoundError):
            if self.path.read_text() == text:
                return False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Read by the milter's own user; the signatures go out to the world anyway.
            atomic_write(self.path, text, mode=0o644, owner=None)
        except OSError as exc:
            raise BackendError(f"signature file: {exc}", permanent=True) from exc
        return True

    def remove(self, domain: str) -> bool:
        return self.write(domain, ())

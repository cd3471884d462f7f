"""Knot's control socket through `knotc`: zones added to and removed from the configuration
database at runtime, their first contents written, and what the server is configured with.

Each call is one `knotc` process (a few milliseconds): knotc reading several commands
from stdin carries on after a failed one and exits 0, so a failure could go unnoticed.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path

from .base import DnsBackendError

# Zone names reach knotc's `zone[NAME]` syntax: only what an A-label zone can hold.
ZONE_RE = re.compile(r"^(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+$")
_TRANSIENT_WORDS = (
    "failed to connect",
    "connection refused",
    "timed out",
    "timeout",
    "too many transactions",  # another writer holds the configuration transaction
    "busy",
    "try again",
)


def is_transient(message: str) -> bool:
    lowered = message.lower()
    return any(word in lowered for word in _TRANSIENT_WORDS)


def checked_zone(zone: str) -> str:
    if not ZONE_RE.match(zone):
        raise DnsBackendError(f"{zone!r} is not an absolute lower-case zone name", permanent=True)
    return zone


class KnotControl:
    """The `knotc` commands of one Knot instance, each given its control socket."""

    def __init__(self, socket: Path | str, *, knotc: str = "knotc", timeout: float = 10.0):
        self.socket = str(socket)
        self.knotc = knotc
        self.timeout = timeout

    def run(self, *args: str, force: bool = False, ok_errors: Iterable[str] = ()) -> str:
        """knotc's output; a failure raises unless its message holds one of `ok_errors`."""
        argv = [_which(self.knotc), "-s", self.socket, "-t", str(max(1, int(self.timeout)))]
        argv += ["-f", *args] if force else list(args)
        try:
            proc = subprocess.run(
                argv, capture_output=True, text=True, timeout=self.timeout + 5, check=False
            )
        except FileNotFoundError as exc:
            raise DnsBackendError(f"knotc: not installed ({exc})", permanent=True) from exc
        except subprocess.TimeoutExpired as exc:
            raise DnsBackendError(f"knotc {args[0]}: timed out", permanent=False) from exc
        output = (proc.stdout + proc.stderr).strip()
        if proc.returncode != 0 or output.startswith("error:") or "\nerror:" in output:
            if any(word in output for word in ok_errors):
                return output
            message = output or f"exit status {proc.returncode}"
            raise DnsBackendError(f"knotc {' '.join(args)}: {message}",
                                  permanent=not is_transient(message))
        return output

    # --- What the server is configured with ---------------------------------------------

    def configured_zones(self) -> list[str]:
        out = self.run("conf-read", "zone.domain", ok_errors=("not exists",))
        return sorted(
            line.split("=", 1)[1].strip() for line in out.splitlines()
            if line.startswith("zone.domain =")
        )

    def zone_serial(self, zone: str) -> str | None:
        """None: not configured; "-": configured but holding no contents yet."""
        out = self.run("zone-status", checked_zone(zone), ok_errors=("no such zone",))
        match = re.search(r"\|\s*serial:\s*(\S+)", out)
        if "no such zone" in out or match is None:
            return None
        return match.group(1)

    def status(self) -> str:
        return self.run("status")

    # --- Changes ------------------------------------------------------------------------

    @contextlib.contextmanager
    def configuration(self) -> Iterator[None]:
        """One configuration transaction: committed on success, aborted on any failure so
        that no open transaction blocks the next writer."""
        self.run("conf-begin")
        try:
            yield
        except BaseException:
            with contextlib.suppress(DnsBackendError):
                self.run("conf-abort")
            raise
        self.run("conf-commit")

    def add_zone(self, zone: str) -> None:
        """Idempotent: a zone another writer added meanwhile is not an error."""
        with self.configuration():
            self.run("conf-set", f"zone[{checked_zone(zone)}]", ok_errors=("duplicate identifier",))

    def remove_zone(self, zone: str) -> None:
        """Purge its contents, journal and timers first (after conf-unset the server no
        longer knows the zone and would leave them behind), then drop it from the
        configuration database. Idempotent."""
        checked_zone(zone)
        self.run("zone-purge", zone, force=True, ok_errors=("no such zone",))
        with self.configuration():
            self.run("conf-unset", f"zone[{zone}]", ok_errors=("invalid identifier",))

    def write_zone(self, zone: str, records: Iterable[tuple[str, int, str, str]]) -> None:
        """Replace the contents of a configured zone with `records` (owner, ttl, type,
        rdata text) in one zone transaction; the first contents of a new zone."""
        checked_zone(zone)
        self.run("zone-begin", zone)
        try:
            for owner, ttl, rtype, value in records:
                self.run("zone-set", zone, owner, str(ttl), rtype, *value.split())
        except BaseException:
            with contextlib.suppress(DnsBackendError):
                self.run("zone-abort", zone)
            raise
        self.run("zone-commit", zone)


def _which(name: str) -> str:
    if os.sep in name:
        return name
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin", "/sbin"])
    return shutil.which(name, path=search) or name

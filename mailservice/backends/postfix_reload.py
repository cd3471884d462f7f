"""``postfix reload`` for a new domain, and the wait until no Postfix daemon older than the
change is left.

Rows in the SQL lookup tables are read at each SMTP command, so most changes need no
reload. A new domain does: a daemon that resolved an address of the domain before its rows
existed keeps the answer ("not local") for the rest of its life (smtpd caches address
resolution). ``postfix reload`` only signals the master and returns; the master then tells
its daemons to exit once idle (a busy one after its session) and starts new ones on demand.
So "every Postfix process sees the change" means: every child of the master that started
before the commit has exited; a daemon started later read the committed rows from its first
lookup. The old daemons, found by their start time in /proc, are held as pidfds (a pidfd
names one process, never a later one with the same PID) and their exit is waited for with
poll(), up to the adapter's timeout.

A marker file records a reload that is due, and the commit's time once known, so that a
push that failed between the commit and the end of the wait reloads and waits again when
retried (its rows are already written then), for the same daemons only.
"""

from __future__ import annotations

import contextlib
import os
import select
import time
from pathlib import Path

from .base import BackendError
from .config import DovecotPostfixConfig
from .tools import Tools


class PostfixReload:
    def __init__(self, config: DovecotPostfixConfig, tools: Tools):
        self.config = config
        self.tools = tools

    @property
    def marker(self) -> Path:
        return self.config.maps_dir / ".reload-pending"

    def request(self) -> None:
        """Note that a reload is due; call it before committing the rows that need it. Until
        committed() says when, every running daemon counts as older than the change."""
        self.marker.parent.mkdir(parents=True, exist_ok=True)
        self.marker.write_text("")

    def committed(self) -> None:
        """Record that the rows were committed now."""
        self.marker.write_text(f"{_now_ticks()}\n")

    def pending(self) -> bool:
        return self.marker.exists()

    def run_if_pending(self) -> None:
        try:
            text = self.marker.read_text().strip()
        except FileNotFoundError:
            return
        self.reload_and_wait(started_by=int(text) if text.isdigit() else None)
        self.marker.unlink(missing_ok=True)

    def reload_and_wait(self, *, started_by: int | None = None) -> None:
        """Reload, then wait for the exit of the daemons started by ``started_by`` (clock
        ticks since boot, as in /proc/PID/stat; None: all that run now)."""
        master = self._master_pid()
        daemons = _children_as_pidfds(master, started_by) if master is not None else {}
        try:
            # With no master running, this fails (transient: "not running") and the marker
            # stays; a Postfix started later reads the rows from scratch anyway.
            self.tools.reload_postfix()
            _wait_for_exit(daemons, self.config.timeout)
        finally:
            for fd in daemons:
                os.close(fd)

    def _master_pid(self) -> int | None:
        queue = self.tools.run(
            [self.config.postconf, "-c", str(self.config.postfix_dir), "-h", "queue_directory"]
        ).stdout.strip()
        try:
            pid = int((Path(queue) / "pid/master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if Path(f"/proc/{pid}").exists() else None


def _children_as_pidfds(parent: int, started_by: int | None) -> dict[int, str]:
    """pidfd → command name of each child of ``parent`` started by tick ``started_by``."""

    def old(entry: Path) -> bool:
        stat = _stat_of(entry)
        return (stat is not None and stat[0] == parent
                and (started_by is None or stat[1] <= started_by))

    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or not old(entry):
            continue
        try:
            fd = os.pidfd_open(int(entry.name))
        except ProcessLookupError:  # already gone
            continue
        # Between reading /proc and opening, the PID may have exited and been reused (by a
        # process started later, which then fails the test).
        if old(entry):
            found[fd] = _name_of(entry)
        else:
            os.close(fd)
    return found


def _wait_for_exit(daemons: dict[int, str], timeout: float) -> None:
    """Return once every pidfd of ``daemons`` reports its process's exit."""
    poller = select.poll()
    for fd in daemons:
        poller.register(fd, select.POLLIN)
    waiting = set(daemons)
    deadline = time.monotonic() + timeout
    while waiting:
        left = deadline - time.monotonic()
        if left <= 0:
            names = ", ".join(sorted(daemons[fd] for fd in waiting))
            raise BackendError(
                f"postfix reload: daemons started before the change still run after "
                f"{timeout:g}s ({names})", permanent=False)
        for fd, _events in poller.poll(left * 1000):
            poller.unregister(fd)
            waiting.discard(fd)


def _stat_of(proc: Path) -> tuple[int, int] | None:
    """(parent PID, start time in clock ticks since boot) of a /proc/PID entry."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        # The command name may contain spaces and parentheses: the fields after the last
        # ")" are fixed (state is field 3 of proc(5), so ppid is [1], starttime [19]).
        fields = (proc / "stat").read_text().rpartition(")")[2].split()
        return int(fields[1]), int(fields[19])
    return None


def _now_ticks() -> int:
    """Now on the clock of /proc/PID/stat's start times (boot time, suspend included)."""
    return int(time.clock_gettime(time.CLOCK_BOOTTIME) * os.sysconf("SC_CLK_TCK"))


def _name_of(proc: Path) -> str:
    with contextlib.suppress(OSError):
        return (proc / "comm").read_text().strip()
    return proc.name

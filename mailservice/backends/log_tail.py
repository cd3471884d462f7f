"""Reading a mail daemon's growing log file from a saved position (inode, offset), across
rotation and truncation; and removing rotated files past the retention.

`postfix logrotate` renames the file (``postfix.log.20261201-101500``), reopens a new
one, then compresses the old one. A position whose inode is no longer the file's is
looked up among the rotated siblings first, so the lines written between the last read
and the rotation are not lost (unless the sibling was compressed meanwhile); a file
smaller than the saved offset was truncated and is read again from its start.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from .base import BackendError
from .delivery_log import complete_lines

MAX_READ = 4 * 1024 * 1024
COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".lz4")


@dataclass(frozen=True)
class LogPosition:
    inode: int = 0
    offset: int = 0


@dataclass(frozen=True)
class LogRead:
    lines: list[str]
    position: LogPosition  # where the next read starts
    more: bool  # stopped at MAX_READ, or finished a rotated file: read again


def _rotated(path: Path, inode: int) -> Path | None:
    """The rotated sibling of ``path`` that is still the file with ``inode``."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent):
            if (entry.name.startswith(path.name + ".") and not entry.name.endswith(COMPRESSED)
                    and entry.inode() == inode):
                return Path(entry.path)
    return None


def read_new_lines(path: Path, position: LogPosition | None, *,
                   max_read: int = MAX_READ) -> LogRead:
    """The whole lines written to ``path`` since ``position`` (None: from its start)."""
    position = position or LogPosition()
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return LogRead([], position, more=False)
    source, start = path, 0
    if position.inode == stat.st_ino:
        start = position.offset if position.offset <= stat.st_size else 0  # else: truncated
    elif position.inode:
        rotated = _rotated(path, position.inode)
        if rotated is not None and rotated.stat().st_size > position.offset:
            source, start = rotated, position.offset
    try:
        with open(source, "rb") as handle:
            inode = os.fstat(handle.fileno()).st_ino
            handle.seek(start)
            data = handle.read(max_read)
    except FileNotFoundError:  # rotated away between stat and open: next time
        return LogRead([], position, more=True)
    except OSError as exc:
        raise BackendError(f"reading {source}: {exc}", permanent=False) from exc
    found, end = complete_lines(data, start)
    if len(data) == max_read and end == start:
        end = start + len(data)  # one line longer than a whole read: skipped
    lines = [text for _offset, text in found]
    if source != path and len(data) < max_read:
        # The rotated file is finished (an unfinished last line in it never will be):
        # the next read starts the new file.
        return LogRead(lines, LogPosition(stat.st_ino, 0), more=True)
    return LogRead(lines, LogPosition(inode, end), more=len(data) == max_read)


def remove_rotated(path: Path, *, older_than: float) -> list[Path]:
    """Delete the rotated (and compressed) copies of ``path`` last written before
    ``older_than`` (a Unix time): Postfix never deletes them (MAILLOG_README)."""
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent):
            if not entry.name.startswith(path.name + ".") or not entry.is_file():
                continue
            with contextlib.suppress(OSError):
                if entry.stat().st_mtime < older_than:
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


def host_time_zone(name: str | None = None):
    """The zone of the log's timestamps: ``name`` (an IANA name from the host's config),
    else this machine's (the worker reading a host's logs runs on that host)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    candidates = [name, (os.environ.get("TZ") or "").lstrip(":") or None]
    with contextlib.suppress(OSError):
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    for candidate in candidates:
        if candidate:
            with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
                return ZoneInfo(candidate)
    return datetime.now().astimezone().tzinfo

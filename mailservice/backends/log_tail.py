"""Reading a mail daemon's growing log file from a saved position (inode, offset), across
rotation and truncation; and removing rotated files past the retention.

`postfix logrotate` renames the file (``postfix.log.20261201-101500``), reopens a new
one, then compresses the old one a second later (gzip by default). A position whose
file is gone is looked up among the rotated siblings first, so the lines written
between the last read and the rotation are not lost: a renamed sibling by its inode, a
compressed one (or logrotate's copytruncate copy) by the hash of its first line
(compressing or copying makes a new file; the first line, with its time and process id,
names the file). The same inode with another first line is a new file too (truncated in
place, or given the freed inode). A file smaller than the saved offset was truncated and
is read again from its start.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import hashlib
import lzma
import os
from dataclasses import dataclass
from pathlib import Path

from .base import BackendError
from .delivery_log import complete_lines

MAX_READ = 4 * 1024 * 1024
COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".lz4")
# The compressed siblings the standard library reads (zstd and lz4 would need packages:
# a file compressed so is not read back, as before).
OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
HEAD_MAX = 4096  # a first line longer than this is hashed on its first 4 KiB


@dataclass(frozen=True)
class LogPosition:
    inode: int = 0
    offset: int = 0
    head: str = ""  # the hash of the file's first line ("" until it has one)


@dataclass(frozen=True)
class LogRead:
    lines: list[str]
    position: LogPosition  # where the next read starts
    more: bool  # stopped at MAX_READ, or finished a rotated file: read again


def head_hash(first_bytes: bytes) -> str:
    """The hash naming a log file: of its first whole line ("" while it has none)."""
    end = first_bytes.find(b"\n")
    if end < 0 and len(first_bytes) < HEAD_MAX:
        return ""
    return hashlib.sha256(first_bytes[:end + 1] if end >= 0 else first_bytes).hexdigest()


def _siblings(path: Path):
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent):
            if entry.name.startswith(path.name + ".") and entry.is_file():
                yield entry


def _rotated(path: Path, position: LogPosition) -> tuple[Path, bool] | None:
    """The rotated sibling of ``path`` that the position was reading: the file with its
    inode and first line, else one that starts with its first line (a compressed copy,
    or logrotate's copytruncate copy), newest first; and whether it is compressed."""
    siblings = list(_siblings(path))
    for entry in siblings:
        if (not entry.name.endswith(COMPRESSED) and entry.inode() == position.inode
                and _is(Path(entry.path), False, position)):
            return Path(entry.path), False
    if not position.head:
        return None
    readable = [e for e in siblings if not e.name.endswith(COMPRESSED)
                or e.name.endswith(tuple(OPENERS))]
    with contextlib.suppress(OSError):
        readable.sort(key=lambda e: e.stat().st_mtime, reverse=True)
    for entry in readable:
        compressed = entry.name.endswith(COMPRESSED)
        if _is(Path(entry.path), compressed, position):
            return Path(entry.path), compressed
    return None


def _is(path: Path, compressed: bool, position: LogPosition) -> bool:
    """Whether ``path`` starts with the position's first line (any file, when the
    position has none yet)."""
    if not position.head:
        return True
    with contextlib.suppress(OSError, EOFError, ValueError, lzma.LZMAError):
        with _open(path, compressed) as handle:
            return head_hash(handle.read(HEAD_MAX)) == position.head
    return False


def _open(path: Path, compressed: bool):
    if compressed:
        return OPENERS[path.suffix](path, "rb")
    return open(path, "rb")  # noqa: SIM115 - the caller's with


def read_new_lines(path: Path, position: LogPosition | None, *,
                   max_read: int = MAX_READ) -> LogRead:
    """The whole lines written to ``path`` since ``position`` (None: from its start)."""
    position = position or LogPosition()
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return LogRead([], position, more=False)
    source, start, compressed, head = path, 0, False, ""
    # The same inode with another first line is a new file: the old one was rotated and
    # compressed, and the file system gave its freed inode to the new one.
    if position.inode == stat.st_ino and _is(path, False, position):
        if position.offset <= stat.st_size:  # else: truncated, read again from the start
            start, head = position.offset, position.head
    elif position.inode:
        rotated = _rotated(path, position)
        if rotated is not None:
            source, compressed = rotated
            start, head = position.offset, position.head
    try:
        with _open(source, compressed) as handle:
            inode = position.inode if compressed else os.fstat(handle.fileno()).st_ino
            if not head:
                head = head_hash(handle.read(HEAD_MAX))
            handle.seek(start)  # in a compressed file: decompressing up to it
            data = handle.read(max_read)
    except FileNotFoundError:  # rotated away between stat and open: next time
        return LogRead([], position, more=True)
    except (OSError, EOFError, lzma.LZMAError) as exc:
        if compressed:  # a damaged or still-written archive: go on with the new file
            return LogRead([], LogPosition(stat.st_ino, 0), more=True)
        raise BackendError(f"reading {source}: {exc}", permanent=False) from exc
    found, end = complete_lines(data, start)
    if len(data) == max_read and end == start:
        end = start + len(data)  # one line longer than a whole read: skipped
    lines = [text for _offset, text in found]
    if source != path and len(data) < max_read:
        # The rotated file is finished (an unfinished last line in it never will be):
        # the next read starts the new file.
        return LogRead(lines, LogPosition(stat.st_ino, 0), more=True)
    return LogRead(lines, LogPosition(inode, end, head), more=len(data) == max_read)


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

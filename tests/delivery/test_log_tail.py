"""Reading a log from a saved position: whole lines only, across `postfix logrotate`'s
rename (the rest of the old file first, compressed or not), a truncation, and a line
longer than a read."""
import bz2
import gzip
import lzma
import os
import time

import pytest

from mailservice.backends.log_tail import (
    LogPosition,
    read_new_lines,
    remove_rotated,
)


def read_all(path, position=None, **kwargs):
    found = []
    while True:
        got = read_new_lines(path, position, **kwargs)
        found += got.lines
        position = got.position
        if not got.more:
            return found, position


def test_only_whole_lines_are_read_and_the_rest_next_time(tmp_path):
    log = tmp_path / "postfix.log"
    log.write_bytes(b"one\ntwo\nthr")
    lines, position = read_all(log)
    assert lines == ["one", "two"] and position.offset == 8
    with open(log, "ab") as handle:
        handle.write(b"ee\nfour\n")
    assert read_all(log, position)[0] == ["three", "four"]


def test_a_missing_file_reads_nothing_and_keeps_the_position(tmp_path):
    position = LogPosition(5, 10)
    got = read_new_lines(tmp_path / "absent.log", position)
    assert got.lines == [] and got.position == position


def test_after_rotation_the_old_files_rest_comes_before_the_new_file(tmp_path):
    log = tmp_path / "postfix.log"
    log.write_text("a\nb\n")
    _lines, position = read_all(log)
    with open(log, "a") as handle:
        handle.write("c\n")  # written after the last read, before the rotation
    os.rename(log, tmp_path / "postfix.log.20261201-101500")
    log.write_text("d\n")
    lines, position = read_all(log, position)
    assert lines == ["c", "d"]
    assert (position.inode, position.offset) == (os.stat(log).st_ino, 2)


def _rotate_and_compress(log, opener, suffix):
    """What `postfix logrotate` does: rename, a new file, then compress the old one (a
    new file: the old inode is gone)."""
    rotated = log.with_name(log.name + ".20261201-101500")
    os.rename(log, rotated)
    log.write_text("new 1\n")
    with opener(str(rotated) + suffix, "wb") as archive:
        archive.write(rotated.read_bytes())
    rotated.unlink()


@pytest.mark.parametrize(("opener", "suffix"), [(gzip.open, ".gz"), (bz2.open, ".bz2"),
                                                (lzma.open, ".xz")])
def test_the_rest_of_a_rotated_file_is_read_once_it_is_compressed(tmp_path, opener, suffix):
    log = tmp_path / "postfix.log"
    log.write_text("Dec  1 10:00:00 host postfix/master[1]: daemon started\nb\n")
    _lines, position = read_all(log)
    with open(log, "a") as handle:
        handle.write("c\nd\n")  # after the last read, before the rotation
    # An older archive of another file, newer on disk: not the one read.
    with gzip.open(tmp_path / "postfix.log.20261130-101500.gz", "wb") as other:
        other.write(b"Nov 30 10:00:00 host postfix/master[9]: daemon started\nold\n")
    _rotate_and_compress(log, opener, suffix)
    lines, position = read_all(log, position)
    assert lines == ["c", "d", "new 1"]
    assert (position.inode, position.offset) == (os.stat(log).st_ino, 6)


def test_a_compressed_file_read_in_bounded_steps_is_found_again_each_time(tmp_path):
    log = tmp_path / "postfix.log"
    log.write_text("first line\n")
    _lines, position = read_all(log)
    with open(log, "a") as handle:
        handle.write("".join(f"line {n}\n" for n in range(50)))
    _rotate_and_compress(log, gzip.open, ".gz")
    lines, _position = read_all(log, position, max_read=64)
    assert lines == [f"line {n}" for n in range(50)] + ["new 1"]


def test_a_damaged_archive_does_not_stop_the_reading_of_the_new_file(tmp_path):
    log = tmp_path / "postfix.log"
    log.write_text("first line\n")
    _lines, position = read_all(log)
    os.rename(log, tmp_path / "postfix.log.1")
    log.write_text("new 1\n")
    (tmp_path / "postfix.log.1").unlink()
    archive = gzip.compress(b"first line\nlost\n" * 100)
    (tmp_path / "postfix.log.1.gz").write_bytes(archive[: len(archive) // 2])  # cut short
    assert read_all(log, position)[0] == ["new 1"]


def test_a_file_is_named_by_its_first_line_once_it_has_one(tmp_path):
    log = tmp_path / "postfix.log"
    log.write_text("no newline yet")
    assert read_new_lines(log, None).position.head == ""
    with open(log, "a") as handle:
        handle.write("\nsecond\n")
    head = read_new_lines(log, None).position.head
    assert head and read_new_lines(log, LogPosition(os.stat(log).st_ino, 0)).position.head == head


def test_a_truncated_file_is_read_again_from_its_start(tmp_path):
    log = tmp_path / "dovecot.log"
    log.write_text("a long first line\nsecond\n")
    _lines, position = read_all(log)
    log.write_text("new\n")  # same inode, shorter than the saved offset
    assert read_all(log, position)[0] == ["new"]


def test_reads_are_bounded_and_continue(tmp_path):
    log = tmp_path / "postfix.log"
    log.write_text("".join(f"line {n}\n" for n in range(100)))
    first = read_new_lines(log, None, max_read=64)
    assert first.more and 0 < len(first.lines) < 100
    assert read_all(log, max_read=64)[0] == [f"line {n}" for n in range(100)]


def test_a_line_longer_than_a_read_is_skipped_not_read_forever(tmp_path):
    log = tmp_path / "postfix.log"
    log.write_text("x" * 200 + "\nafter\n")
    assert read_all(log, max_read=64)[0][-1] == "after"


def test_rotated_files_past_the_retention_are_removed_and_nothing_else(tmp_path):
    log = tmp_path / "postfix.log"
    log.write_text("current\n")
    old = tmp_path / "postfix.log.20261101-000000.gz"
    recent = tmp_path / "postfix.log.20261130-000000"
    other = tmp_path / "dovecot.log.1"
    for path in (old, recent, other):
        path.write_text("x\n")
    week_ago = time.time() - 30 * 86400
    for path in (old, other, log):
        os.utime(path, (week_ago, week_ago))
    removed = remove_rotated(log, older_than=time.time() - 20 * 86400)
    assert removed == [old]
    assert log.exists() and recent.exists() and other.exists()


def test_a_new_file_given_the_old_files_inode_is_not_read_from_the_old_offset(tmp_path):
    """After compression deletes the rotated file, the file system may give its inode to
    the new log: the first line tells them apart."""
    log = tmp_path / "postfix.log"
    log.write_text("Dec  1 10:00:00 host postfix/master[1]: daemon started\nb\n")
    _lines, position = read_all(log)
    with open(log, "a") as handle:
        handle.write("c\n")
    archive = tmp_path / "postfix.log.20261201-101500.gz"
    with gzip.open(archive, "wb") as handle:
        handle.write(log.read_bytes())
    log.write_text("Dec  1 10:15:00 host postfix/smtpd[7]: connect from a.example\nnew 2\n")
    assert os.stat(log).st_ino == position.inode  # the same inode, rewritten in place
    lines, position = read_all(log, position)
    assert lines == ["c", "Dec  1 10:15:00 host postfix/smtpd[7]: connect from a.example",
                     "new 2"]


# --- generated histories ------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# What a log's writer and its rotation may do between two reads: append whole lines (a
# line may arrive in two writes), and at most one `postfix logrotate` (rename, a new file
# that Postfix's reload at once writes its first line to, then the old one compressed or
# not yet). A file read while it had no whole line yet and then rotated and compressed
# before the next read cannot be found again (nothing names it): Postfix never leaves one
# so, its log starts with the master's line.
steps = st.lists(st.one_of(
    st.tuples(st.just("append"), st.integers(1, 5), st.booleans()),
    st.tuples(st.just("rotate"), st.sampled_from(["", ".gz", ".bz2", ".xz"]), st.booleans()),
    st.tuples(st.just("copytruncate"), st.sampled_from(["", ".gz"]), st.booleans()),
    st.tuples(st.just("read"), st.sampled_from([60, 100, 1 << 20]), st.booleans()),  # longer than a line
), min_size=1, max_size=25)


@settings(max_examples=400, deadline=None)
@given(history=steps)
def test_every_line_written_is_read_once_and_in_order(tmp_path_factory, history):
    folder = tmp_path_factory.mktemp("log")
    log = folder / "postfix.log"
    openers = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
    written, read, position, counter = [], [], None, iter(range(10**6))
    # Before its first read the reader starts from the current file (what was rotated
    # away before then is history it never followed): rotations come after a read.
    rotated_since_read = True

    def first_line():
        line = f"line {next(counter)}: postfix/master: daemon started"
        log.write_bytes(f"{line}\n".encode())
        written.append(line)
    first_line()
    for step in history:
        kind, value, flag = step
        if kind == "append":
            lines = [f"line {next(counter)} of the log" for _ in range(value)]
            data = "".join(f"{line}\n" for line in lines).encode()
            with open(log, "ab") as handle:
                if flag and len(data) > 3:  # the last line in two writes, read in between
                    handle.write(data[:-3])
                    handle.flush()
                    got = read_new_lines(log, position)
                    read += got.lines
                    position = got.position
                handle.write(data[-3:] if flag and len(data) > 3 else data)
            written += lines
        elif kind == "rotate" and not rotated_since_read:
            rotated = folder / f"postfix.log.{next(counter)}"
            os.rename(log, rotated)
            first_line()
            if value:  # compressed, the renamed file deleted (its inode freed for reuse)
                with openers[value](str(rotated) + value, "wb") as archive:
                    archive.write(rotated.read_bytes())
                rotated.unlink()
            rotated_since_read = True
        elif kind == "copytruncate" and not rotated_since_read:
            # logrotate's way: a copy (a new inode), the file emptied in place (its inode kept).
            copy = folder / f"postfix.log.{next(counter)}{value}"
            with (openers[value] if value else open)(str(copy), "wb") as handle:
                handle.write(log.read_bytes())
            os.truncate(log, 0)
            with open(log, "ab") as handle:
                line = f"line {next(counter)}: after the copy"
                handle.write(f"{line}\n".encode())
                written.append(line)
            rotated_since_read = True
        elif kind == "read":
            while True:
                got = read_new_lines(log, position, max_read=value)
                read += got.lines
                position = got.position
                if not got.more:
                    break
            rotated_since_read = False
    while True:
        got = read_new_lines(log, position)
        read += got.lines
        position = got.position
        if not got.more:
            break
    assert read == written, history

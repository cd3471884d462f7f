"""Reading a log from a saved position: whole lines only, across `postfix logrotate`'s
rename (the rest of the old file first), a truncation, and a line longer than a read."""
import os
import time

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
    assert position == LogPosition(os.stat(log).st_ino, 2)


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

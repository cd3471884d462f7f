"""Reads Dovecot's log for LMTP deliveries that died (pure: text in, failures out).

When the Sieve engine aborts during a delivery, the LMTP child is killed and Postfix
defers the message (``4.4.2 lost connection … while sending end of data``), then retries
it forever. Dovecot's own log names the mailbox whose script did it, in the prefix of
the process's last words (Dovecot 2.3, default ``mail_log_prefix``)::

    Dec 01 11:01:22 lmtp(alice@example.test)<19445><0CU0NQKpDmv1SwAAg+zDdQ>: Panic: file mcht-matches.c: line 102 (_scan_key_section): assertion failed: (*wcardp == key_end)
    Dec 01 11:01:22 lmtp(alice@example.test)<19445><0CU0NQKpDmv1SwAAg+zDdQ>: Fatal: master: service(lmtp): child 19445 killed with signal 6 (core dumps disabled - …)

Postfix's deferral is not used: one LMTP transaction carries every recipient of a
message, so when one mailbox's script kills it, all of them are deferred alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_FAILURE = re.compile(
    r"\blmtp\((?P<email>[^()\s]+@[^()\s]+)\)(?:<\d+>)?(?:<(?P<session>[^>]*)>)?: "
    r"(?P<level>Panic|Fatal): (?P<reason>.*)$"
)
MAX_REASON = 300


@dataclass(frozen=True)
class DeliveryFailure:
    email: str  # the mailbox being delivered to, lower-case
    session: str  # Dovecot's session id ("" if the prefix has none)
    reason: str  # the Panic line's message, else the Fatal one's
    offset: int  # where in the log its first line starts


def delivery_failures(lines: Iterable[tuple[int, str]]) -> list[DeliveryFailure]:
    """The deliveries that died in ``lines`` ((offset, text) pairs), one per LMTP session
    and mailbox, in log order."""
    found: dict[tuple[str, str, str], DeliveryFailure] = {}
    from_panic: set[tuple[str, str, str]] = set()
    for offset, line in lines:
        match = _FAILURE.search(line.rstrip("\r\n"))
        if match is None:
            continue
        email = match["email"].lower()
        session = match["session"] or ""
        # Without a session id, one line is one failure.
        key = (email, session, "" if session else str(offset))
        reason = match["reason"].strip()[:MAX_REASON]
        seen = found.get(key)
        if seen is None:
            found[key] = DeliveryFailure(email=email, session=session, reason=reason, offset=offset)
        elif match["level"] == "Panic" and key not in from_panic:
            # The Panic line says what went wrong; a Fatal one may only say the child died.
            found[key] = DeliveryFailure(email=email, session=session, reason=reason,
                                         offset=seen.offset)
        if match["level"] == "Panic":
            from_panic.add(key)
    return list(found.values())


def complete_lines(data: bytes, start: int) -> tuple[list[tuple[int, str]], int]:
    """The whole lines of ``data`` (read from offset ``start``) with their offsets, and
    the offset just after the last one: a line still being written is read next time."""
    lines: list[tuple[int, str]] = []
    position = 0
    while True:
        end = data.find(b"\n", position)
        if end < 0:
            break
        lines.append((start + position, data[position:end].decode("utf-8", "replace")))
        position = end + 1
    return lines, start + position

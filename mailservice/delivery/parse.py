"""Postfix's and Dovecot's log lines → one delivery event per (message, recipient) (pure).

Line shapes are those of Postfix 3.7 (``maillog_file`` through postlogd, long queue ids,
``header_checks`` logging the Subject) and Dovecot 2.3 (``log_path`` with the
``deliver_log_format`` and ``mail_log`` settings of scripts/localstack.py), recorded in
tests/delivery/recorded/ (BACKENDS-2.md §3). A message is followed by its queue id through
smtpd (client, SASL login), cleanup (Message-ID, Subject), qmgr (envelope sender, size)
to the delivery agents, which log one line per recipient and attempt. Dovecot's LMTP
answer carries its session id (``250 2.0.0 <rcpt> SESSION Saved``; ``SESSION:R2`` for
the second recipient of a transaction, ``:T2`` for the second transaction of a
connection), and Dovecot prefixes its own lines of that delivery with the same string:
that joins the folder and the Sieve actions to Postfix's event.

Timestamps carry neither year nor zone: they are the log host's local time, and the year
is the one that puts the line at most a day after the time of reading (a December line
read in January belongs to the year before).

The correlator's memory (messages still in the queue, Dovecot deliveries not yet joined)
is plain data (``Correlator.state()``), so a reader can resume from a saved offset.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from email.header import decode_header, make_header

# Event statuses (DeliveryEvent.Status has the same values).
ACCEPTED = "accepted"  # a message the address sent was taken into the queue
REJECTED = "rejected"  # refused during the SMTP dialogue (NOQUEUE, milter, cleanup)
DELIVERED = "delivered"  # stored in a mailbox here
FORWARDED = "forwarded"  # passed on elsewhere (a redirection, a Sieve redirect)
SENT = "sent"  # handed to another server
DEFERRED = "deferred"  # a temporary failure; Postfix tries again
BOUNCED = "bounced"  # a permanent failure; the sender is told
STATUSES = (ACCEPTED, REJECTED, DELIVERED, FORWARDED, SENT, DEFERRED, BOUNCED)

INCOMING, OUTGOING = "in", "out"

# Limits of what is kept from a line (the model's column sizes).
MAX_ADDRESS = 254
MAX_TEXT = 1000
MAX_SHORT = 255

# How long the correlator remembers a message whose "removed" line it has not seen (a
# deferred message stays in the queue up to maximal_queue_lifetime, 5 days by default),
# and a Dovecot delivery no Postfix line has claimed yet.
QUEUE_MEMORY = timedelta(days=6)
MAILBOX_MEMORY = timedelta(hours=1)
# A line dated more than this after the time of reading belongs to the year before.
FUTURE_TOLERANCE = timedelta(days=1)

MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}

_STAMP = re.compile(r"(?P<mon>[A-Z][a-z]{2}) +(?P<day>\d{1,2}) (?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)"
                    r"(?:\.\d+)? ")
_POSTFIX = re.compile(r"\S+ (?P<name>[\w.-]+(?:/[\w.-]+)*)\[\d+\]: (?P<text>.*)$")
_QUEUED = re.compile(r"(?P<qid>[0-9A-Za-z]{8,20}): (?P<rest>.*)$")
_CLIENT = re.compile(r"client=(?P<client>[^,]*)(?:, sasl_method=[^,]*, sasl_username=(?P<user>[^,\s]*))?")
_SUBJECT = re.compile(r"info: header Subject: (?P<subject>.*) from \S+\[[^\]]*\](?::\d+)?; "
                      r"from=<(?P<from>[^>]*)>")
_CLEANUP_REJECT = re.compile(r"(?:milter-)?reject: (?P<stage>\S+) (?:.*? )?from \S+: (?P<text>.*?); "
                             r"from=<(?P<from>[^>]*)>(?: to=<(?P<to>[^>]*)>)?")
_QMGR_FROM = re.compile(r"from=<(?P<from>[^>]*)>, size=(?P<size>\d+), nrcpt=\d+")
_QMGR_EXPIRED = re.compile(r"from=<(?P<from>[^>]*)>, status=expired, (?P<text>.*)$")
_DELIVERY = re.compile(r"to=<(?P<to>[^>]*)>, (?P<fields>.*?)status=(?P<status>\w+)"
                       r"(?: \((?P<text>.*)\))?$")
_NOQUEUE = re.compile(r"NOQUEUE: reject: (?P<stage>\S+) from \S+: (?P<text>.*?); "
                      r"from=<(?P<from>[^>]*)>(?: to=<(?P<to>[^>]*)>)?")
_BOUNCE = re.compile(r"sender non-delivery notification: (?P<ndr>[0-9A-Za-z]+)")
_REPLY = re.compile(r"^(?:(?P<code>[245]\d\d)[ -])?(?P<dsn>[245]\.\d{1,3}\.\d{1,3})? ?(?P<text>.*)$")
_SESSION = re.compile(r"^2\d\d 2\.\d{1,3}\.\d{1,3} <[^>]*> (?P<session>\S+) Saved")

_DOVECOT = re.compile(r"lmtp\((?P<user>[^()\s]+)\)<\d+><(?P<session>[^>]+)>: "
                      r"(?P<level>[A-Za-z]+): (?P<text>.*)$")
_SAVE = re.compile(r"save: box=(?P<box>.*?), uid=\d+, msgid=.*?, size=\d+, from=.*?, "
                   r"subject=(?P<subject>.*)$")
_DELIVERED = re.compile(r"(?P<sieve>sieve: )?msgid=(?P<msgid>.*?) from_envelope=<[^>]*> "
                        r"to_envelope=<[^>]*> size=\d+ delivery_time=\d+ms storage_id=\S*: "
                        r"(?P<action>.*)$")
_STORED = re.compile(r"(?:stored mail into mailbox|saved mail to) '?(?P<box>[^']+?)'?$")


@dataclass
class DeliveryRecord:
    """One event of the log: a (message, recipient) and what became of it."""

    time: datetime
    status: str
    direction: str = INCOMING
    queue_id: str = ""
    sender: str = ""
    recipient: str = ""
    original_recipient: str = ""
    sasl_username: str = ""
    message_id: str = ""
    subject: str = ""
    size: int | None = None
    dsn: str = ""
    reason: str = ""
    relay: str = ""
    session: str = ""  # Dovecot's LMTP session id (the join key)
    folder: str = ""
    sieve_action: str = ""


@dataclass
class MailboxDelivery:
    """What Dovecot logged of one LMTP delivery (one session id)."""

    session: str
    email: str
    time: datetime
    folders: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)  # Sieve's, in order
    subject: str = ""
    done: bool = False  # its deliver_log_format line was seen

    @property
    def forwarded(self) -> bool:
        """Passed on by Sieve and not kept."""
        return not self.folders and any(a.startswith("redirect action: forwarded") for a in self.actions)


def joined(record: DeliveryRecord, mailbox: MailboxDelivery) -> dict[str, str]:
    """The fields an event gets from Dovecot's delivery with the same session."""
    changes = {"folder": ", ".join(mailbox.folders)[:MAX_SHORT],
               "sieve_action": "; ".join(mailbox.actions)[:MAX_TEXT]}
    if mailbox.subject and not record.subject:
        changes["subject"] = mailbox.subject[:MAX_SHORT]
    if record.status == DELIVERED and mailbox.forwarded:
        changes["status"] = FORWARDED
    return changes


def log_time(line: str, now: datetime) -> tuple[datetime, int] | None:
    """The time of a syslog-style line and where its text starts, or None. ``now`` is the
    time of reading, aware, in the log host's zone: the line's year is the latest that
    does not put it more than a day after ``now``."""
    match = _STAMP.match(line)
    if match is None or match["mon"] not in MONTHS:
        return None
    month, day = MONTHS[match["mon"]], int(match["day"])
    clock = int(match["h"]), int(match["m"]), int(match["s"])
    for year in range(now.year + 1, now.year - 8, -1):
        try:
            when = datetime(year, month, day, *clock, tzinfo=now.tzinfo)
        except ValueError:  # 29 February of a common year
            continue
        if when <= now + FUTURE_TOLERANCE:
            return when, match.end()
    return None


def last_time(lines: list[str], now: datetime) -> datetime | None:
    """The time of the last dated line of ``lines`` (None if none)."""
    for line in reversed(lines):
        stamp = log_time(line, now)
        if stamp is not None:
            return stamp[0]
    return None


def _address(value: str | None) -> str:
    return (value or "").strip().lower()[:MAX_ADDRESS]


def _reply(text: str) -> tuple[str, str]:
    """(dsn, reason) of a server's reply text: "550 5.1.1 <x>: Recipient address rejected:
    User unknown" → ("5.1.1", "Recipient address rejected: User unknown")."""
    match = _REPLY.match(text.strip())
    dsn = (match["dsn"] or "") if match else ""
    reason = match["text"] if match and (match["code"] or match["dsn"]) else text
    reason = re.sub(r"^<[^>]*>:? ", "", reason.strip())
    return dsn, reason[:MAX_TEXT]


def decoded_subject(raw: str) -> str:
    """A Subject as logged (possibly RFC 2047 encoded words) in plain text."""
    try:
        text = str(make_header(decode_header(raw)))
    except (ValueError, LookupError, UnicodeError):
        text = raw
    return " ".join(text.split())[:MAX_SHORT]


class Correlator:
    """Reads Dovecot's then Postfix's new lines of one host and gives the events they
    complete. Feed Dovecot's lines of a batch first: its delivery lines are written
    before Postfix logs the LMTP answer, so most joins happen within the batch; the
    rest are returned by ``unclaimed()`` (an event already stored gets them later) or
    remembered for Postfix's next lines."""

    def __init__(self, state: dict | None = None):
        state = state or {}
        self.queue: dict[str, dict] = dict(state.get("queue", {}))
        self.mailboxes: dict[str, MailboxDelivery] = {}
        for item in state.get("mailboxes", ()):
            item = dict(item, time=datetime.fromisoformat(item["time"]))
            self.mailboxes[item["session"]] = MailboxDelivery(**item)
        self._claimed: set[str] = set()
        self._fresh: set[str] = set(state.get("fresh", ()))
        # The time of the last Postfix line read (None: none yet).
        latest = state.get("latest")
        self.latest: datetime | None = datetime.fromisoformat(latest) if latest else None
        # The time of the last Dovecot line read: the reader keeps Dovecot's file about
        # where Postfix's is, so little waits in memory for its Postfix line.
        latest = state.get("dovecot_latest")
        self.dovecot_latest: datetime | None = datetime.fromisoformat(latest) if latest else None

    # --- Dovecot --------------------------------------------------------------------

    def read_dovecot(self, lines: Iterable[str], now: datetime) -> None:
        for line in lines:
            stamp = log_time(line, now)
            if stamp is None:
                continue
            if self.dovecot_latest is None or stamp[0] > self.dovecot_latest:
                self.dovecot_latest = stamp[0]
            match = _DOVECOT.match(line, stamp[1])
            if match is None:
                continue
            session, text = match["session"], match["text"]
            mailbox = self.mailboxes.get(session)
            if mailbox is None:
                mailbox = MailboxDelivery(session=session, email=_address(match["user"]),
                                          time=stamp[0])
            if (save := _SAVE.match(text)) is not None:
                if save["box"] not in mailbox.folders:
                    mailbox.folders.append(save["box"][:MAX_SHORT])
                mailbox.subject = mailbox.subject or decoded_subject(save["subject"])
            elif (done := _DELIVERED.match(text)) is not None:
                action = done["action"].strip()
                if done["sieve"]:
                    mailbox.actions.append(action[:MAX_SHORT])
                stored = _STORED.search(action)
                if stored is not None and stored["box"] not in mailbox.folders:
                    mailbox.folders.append(stored["box"][:MAX_SHORT])
                mailbox.done = True
            else:
                continue
            mailbox.time = stamp[0]
            self.mailboxes[session] = mailbox
            self._fresh.add(session)

    def unclaimed(self) -> list[MailboxDelivery]:
        """Dovecot deliveries read since the last call that no event claimed although
        Postfix's log was read past them: their event may be stored already (its line
        was read in an earlier batch). Those later than Postfix's last line wait for the
        next call (Dovecot's file may be read ahead of Postfix's)."""
        found = []
        for session in sorted(self._fresh):
            mailbox = self.mailboxes.get(session)
            if session in self._claimed or mailbox is None:
                self._fresh.discard(session)
            elif self.latest is not None and mailbox.time <= self.latest:
                found.append(mailbox)
                self._fresh.discard(session)
        self._claimed.clear()
        return found

    # --- Postfix --------------------------------------------------------------------

    def read_postfix(self, lines: Iterable[str], now: datetime) -> list[DeliveryRecord]:
        records: list[DeliveryRecord] = []
        for line in lines:
            stamp = log_time(line, now)
            if stamp is None:
                continue
            match = _POSTFIX.match(line, stamp[1])
            if match is None:
                continue
            name, text = match["name"], match["text"]
            daemon = name.rsplit("/", 1)[-1]
            when = stamp[0]
            if self.latest is None or when > self.latest:
                self.latest = when
            if text.startswith("NOQUEUE: "):
                record = self._noqueue(text, when, submission="/submission/" in f"/{name}/")
                if record is not None:
                    records.append(record)
                continue
            queued = _QUEUED.match(text)
            if queued is None:
                continue
            record = self._queued_line(daemon, queued["qid"], queued["rest"], when)
            if record is not None:
                records.append(record)
        self._forget(self.latest or now)
        return records

    def _message(self, queue_id: str, when: datetime) -> dict:
        message = self.queue.setdefault(queue_id, {})
        message["seen"] = when.isoformat()
        return message

    def _noqueue(self, text: str, when: datetime, *, submission: bool) -> DeliveryRecord | None:
        match = _NOQUEUE.match(text)
        if match is None:
            return None
        dsn, reason = _reply(match["text"])
        return DeliveryRecord(time=when, status=REJECTED,
                              direction=OUTGOING if submission else INCOMING,
                              sender=_address(match["from"]), recipient=_address(match["to"]),
                              dsn=dsn, reason=reason)

    def _queued_line(self, daemon: str, queue_id: str, rest: str,
                     when: datetime) -> DeliveryRecord | None:
        if daemon == "smtpd" and rest.startswith("client="):
            match = _CLIENT.match(rest)
            message = self._message(queue_id, when)
            if match and match["user"]:
                message["sasl"] = _address(match["user"])
            return None
        if daemon == "cleanup":
            if rest.startswith("message-id="):
                self._message(queue_id, when)["message_id"] = rest[11:].strip()[:MAX_SHORT]
                return None
            if (subject := _SUBJECT.match(rest)) is not None:
                self._message(queue_id, when)["subject"] = decoded_subject(subject["subject"])
                return None
            if (reject := _CLEANUP_REJECT.match(rest)) is not None:
                return self._cleanup_reject(queue_id, reject, when)
            return None
        if daemon == "qmgr":
            return self._qmgr(queue_id, rest, when)
        if daemon == "bounce":
            match = _BOUNCE.match(rest)
            if match is not None:
                self._message(match["ndr"], when)["notice_of"] = queue_id
            return None
        match = _DELIVERY.match(rest)
        if match is None:
            return None
        return self._delivery(daemon, queue_id, match, when)

    def _base(self, queue_id: str, message: dict, when: datetime, status: str) -> DeliveryRecord:
        sasl = message.get("sasl", "")
        return DeliveryRecord(
            time=when, status=status, direction=OUTGOING if sasl else INCOMING,
            queue_id=queue_id, sender=message.get("from", ""), sasl_username=sasl,
            message_id=message.get("message_id", ""), subject=message.get("subject", ""),
            size=message.get("size"))

    def _qmgr(self, queue_id: str, rest: str, when: datetime) -> DeliveryRecord | None:
        if rest == "removed":
            self.queue.pop(queue_id, None)
            return None
        if (match := _QMGR_FROM.match(rest)) is not None:
            message = self._message(queue_id, when)
            message["from"] = _address(match["from"])
            message["size"] = int(match["size"])
            if message.get("sasl") and not message.get("accepted"):
                # Logged again at each retry; the address's "sent" event is the first.
                message["accepted"] = True
                return self._base(queue_id, message, when, ACCEPTED)
            return None
        if (match := _QMGR_EXPIRED.match(rest)) is not None:
            message = self._message(queue_id, when)
            record = self._base(queue_id, message, when, BOUNCED)
            record.sender = _address(match["from"])
            record.reason = match["text"][:MAX_TEXT]
            return record
        return None

    def _cleanup_reject(self, queue_id: str, match: re.Match, when: datetime) -> DeliveryRecord:
        message = self._message(queue_id, when)
        record = self._base(queue_id, message, when, REJECTED)
        record.sender = _address(match["from"])
        record.recipient = _address(match["to"])
        record.dsn, record.reason = _reply(match["text"])
        return record

    def _delivery(self, daemon: str, queue_id: str, match: re.Match,
                  when: datetime) -> DeliveryRecord:
        message = self._message(queue_id, when)
        fields = dict(part.split("=", 1) for part in match["fields"].rstrip(", ").split(", ")
                      if "=" in part)
        status, text = match["status"], match["text"] or ""
        record = self._base(queue_id, message, when, DEFERRED)
        record.recipient = _address(match["to"])
        original = _address(fields.get("orig_to", "").strip("<>"))
        record.original_recipient = original if original != record.recipient else ""
        record.relay = fields.get("relay", "")[:MAX_SHORT]
        record.dsn = fields.get("dsn", "")[:16]
        record.reason = _reply(re.sub(r"^host \S+ said: ", "", text))[1]
        if status == "sent":
            if daemon in ("lmtp", "virtual", "local"):
                record.status = DELIVERED
            elif record.original_recipient:
                record.status = FORWARDED  # an alias or redirection to another server
            else:
                record.status = SENT
        elif status in ("bounced", "expired"):
            record.status = BOUNCED
        elif status != "deferred":
            record.status = BOUNCED if record.dsn.startswith("5") else DEFERRED
        session = _SESSION.match(text)
        if session is not None:
            record.session = session["session"][:64]
            mailbox = self.mailboxes.get(record.session)
            if mailbox is not None:
                for name, value in joined(record, mailbox).items():
                    setattr(record, name, value)
                self._claimed.add(record.session)
                self.mailboxes.pop(record.session)
        return record

    # --- memory ---------------------------------------------------------------------

    def _forget(self, reference: datetime) -> None:
        """Forget by the log's own clock (the last Postfix line): catching up on days of
        log must not forget what the next lines need."""
        oldest = reference - QUEUE_MEMORY
        self.queue = {qid: m for qid, m in self.queue.items()
                      if datetime.fromisoformat(m["seen"]) >= oldest}
        horizon = reference - MAILBOX_MEMORY
        self.mailboxes = {s: m for s, m in self.mailboxes.items() if m.time >= horizon}

    def state(self) -> dict:
        """The memory as plain data (JSON), for ``Correlator(state)`` after a restart."""
        return {"queue": self.queue,
                "mailboxes": [dict(asdict(m), time=m.time.isoformat())
                              for m in self.mailboxes.values()],
                "fresh": sorted(self._fresh & set(self.mailboxes)),
                "latest": self.latest.isoformat() if self.latest else None,
                "dovecot_latest": self.dovecot_latest.isoformat() if self.dovecot_latest else None}

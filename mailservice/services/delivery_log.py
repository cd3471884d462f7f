"""Writes of the delivery log: the events read from a backend host's Postfix and Dovecot
logs (on that host's worker), and their purge after `DELIVERY_LOG_DAYS` days.

Each batch of lines is stored in one transaction with the reader's new position and the
correlator's memory: a worker killed mid-batch reads the same lines again, and two runs
for one host never interleave (the cursor row is locked)."""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ..backends.log_tail import (
    LogPosition,
    LogRead,
    host_time_zone,
    read_new_lines,
    remove_rotated,
)
from ..delivery.parse import Correlator, DeliveryRecord, MailboxDelivery, joined, last_time
from ..models import Address, DeliveryEvent, DeliveryLogCursor, MailService

log = logging.getLogger(__name__)

# What a later line may change on a stored event (a deferral followed by the delivery).
UPDATED_FIELDS = ["time", "status", "dsn", "reason", "relay", "session", "folder",
                  "sieve_action", "subject", "message_id", "size", "sender", "sasl_username",
                  "direction"]
LOOKUP_CHUNK = 500
DOVECOT_READ = 512 * 1024
# Batches per run: a host's backlog is caught up over several runs, not in one task.
MAX_BATCHES = 50


@dataclass(frozen=True)
class LogFiles:
    postfix: Path | None
    dovecot: Path | None

    @classmethod
    def from_host(cls, config: Mapping) -> LogFiles:
        """From a host's entry of MAIL_BACKEND_CONFIG (a local stack's stack.json has
        `postfix_log`; `dovecot_log` is the one the Sieve watcher reads)."""
        def path(key):
            return Path(str(config[key])) if config.get(key) else None

        return cls(postfix=path("postfix_log"), dovecot=path("dovecot_log"))


def delivery_log_ingest(*, host: str, config: Mapping, now: datetime | None = None,
                        max_batches: int = MAX_BATCHES) -> int:
    """Read the host's new log lines into events; the number of events stored or changed."""
    files = LogFiles.from_host(config)
    if files.postfix is None:
        return 0
    zone = host_time_zone(config.get("log_time_zone"))
    DeliveryLogCursor.objects.get_or_create(host=host)
    total = 0
    for _batch in range(max_batches):
        with transaction.atomic():
            cursor = DeliveryLogCursor.objects.select_for_update().get(host=host)
            local_now = (now or timezone.now()).astimezone(zone)
            postfix = read_new_lines(files.postfix, LogPosition(
                cursor.postfix_inode, cursor.postfix_offset, cursor.postfix_head))
            correlator = Correlator(cursor.state)
            dovecot = _read_dovecot(files.dovecot, cursor, correlator,
                                    until=last_time(postfix.lines, local_now), now=local_now)
            records = correlator.read_postfix(postfix.lines, local_now)
            total += store_events(host, records, correlator.unclaimed())
            cursor.postfix_inode, cursor.postfix_offset, cursor.postfix_head = (
                postfix.position.inode, postfix.position.offset, postfix.position.head)
            cursor.dovecot_inode, cursor.dovecot_offset, cursor.dovecot_head = (
                dovecot.position.inode, dovecot.position.offset, dovecot.position.head)
            cursor.state = correlator.state()
            cursor.save()
        if not (postfix.more or dovecot.more):
            break
    return total


def _read_dovecot(path: Path | None, cursor: DeliveryLogCursor, correlator: Correlator, *,
                  until: datetime | None, now: datetime) -> LogRead:
    """Feed Dovecot's new lines to the correlator, in small reads, until they pass the
    time Postfix's lines of this batch reach: a delivery's Dovecot lines come just before
    Postfix logs its answer, so the batch joins them in memory; reading Dovecot's whole
    backlog ahead would keep it waiting in the saved state."""
    position = LogPosition(cursor.dovecot_inode, cursor.dovecot_offset, cursor.dovecot_head)
    if path is None:
        return LogRead([], position, more=False)
    while True:
        if (until is not None and correlator.dovecot_latest is not None
                and correlator.dovecot_latest > until):
            return LogRead([], position, more=False)  # the rest with Postfix's next lines
        got = read_new_lines(path, position, max_read=DOVECOT_READ)
        correlator.read_dovecot(got.lines, now)
        position = got.position
        if not got.more or until is None:
            return LogRead([], position, more=got.more)


def remove_old_log_files(*, config: Mapping, now: datetime | None = None) -> list[Path]:
    """On the host: delete rotated log files older than the retention."""
    files = LogFiles.from_host(config)
    cutoff = ((now or timezone.now()) - timedelta(days=settings.DELIVERY_LOG_DAYS)).timestamp()
    removed = []
    for path in (files.postfix, files.dovecot):
        if path is not None:
            removed += remove_rotated(path, older_than=cutoff)
    return removed


def delivery_log_purge(*, now: datetime | None = None) -> int:
    """Delete the events older than `DELIVERY_LOG_DAYS` days; how many. Then refresh the
    table's planner statistics (next function)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.DELIVERY_LOG_DAYS)
    deleted, _by_model = DeliveryEvent.objects.filter(time__lt=cutoff).delete()
    delivery_log_analyze()
    return deleted


def delivery_log_analyze() -> None:
    """ANALYZE the events' table. SQLite keeps no statistics unless asked, and without
    them it reads a message-id search through the service's time index, every event of
    the service (29 ms for 41,000 events, against 0.8 ms through the message-id index once
    analysed, in 0.03 s). PostgreSQL's autovacuum does the same on its own; asking again
    at each purge (hourly, `DELIVERY_LOG_PURGE_SECONDS`) costs it a sample of the table."""
    table = connection.ops.quote_name(DeliveryEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")


# --- storing ----------------------------------------------------------------------------

def _mailbox_key(email: str) -> tuple[str, str] | None:
    """(local part, domain) of an address, without a "+tag" (recipient_delimiter)."""
    local_part, _at, domain = email.rpartition("@")
    if not local_part or not domain:
        return None
    return local_part.split("+", 1)[0], domain


class _Directory:
    """Our mail services and addresses for the e-mails of a batch (two queries)."""

    def __init__(self, emails: Iterable[str]):
        keys = {key for email in emails if email and (key := _mailbox_key(email))}
        domains = {domain for _local, domain in keys}
        self.services = {s.domain: s.pk for s in
                         MailService.objects.filter(domain__in=domains).only("pk", "domain")}
        local_parts = {local for local, domain in keys if domain in self.services}
        self.addresses: dict[tuple[str, str], tuple[int, int]] = {}
        if local_parts:
            rows = (Address.objects.filter(mail_service_id__in=self.services.values(),
                                           local_part__in=local_parts)
                    .values_list("pk", "local_part", "mail_service_id", "mail_service__domain"))
            for pk, local_part, service_id, domain in rows:
                self.addresses[(local_part, domain)] = (pk, service_id)

    def address(self, email: str) -> tuple[int, int] | None:
        key = _mailbox_key(email) if email else None
        return self.addresses.get(key) if key else None

    def service(self, email: str) -> int | None:
        key = _mailbox_key(email) if email else None
        return self.services.get(key[1]) if key else None


def _event(host: str, record: DeliveryRecord, directory: _Directory) -> DeliveryEvent:
    event = DeliveryEvent(host=host, **{name: getattr(record, name) for name in (
        "queue_id", "time", "status", "direction", "sender", "recipient", "original_recipient",
        "sasl_username", "message_id", "subject", "size", "dsn", "reason", "relay", "session",
        "folder", "sieve_action")})
    found = directory.address(record.recipient) or directory.address(record.original_recipient)
    sent_by = None
    if record.direction == DeliveryEvent.Direction.OUTGOING:
        sent_by = directory.address(record.sasl_username or record.sender)
    event.address_id = found[0] if found else None
    event.sender_address_id = sent_by[0] if sent_by else None
    service = (found or sent_by or (None, None))[1]
    if service is None:
        service = (directory.service(record.recipient) or directory.service(record.original_recipient)
                   or (directory.service(record.sasl_username or record.sender)
                       if record.direction == DeliveryEvent.Direction.OUTGOING else None))
    event.mail_service_id = service
    return event


def _key(event) -> tuple[str, str, str]:
    return event.queue_id, event.recipient, event.original_recipient


def store_events(host: str, records: list[DeliveryRecord],
                 late: list[MailboxDelivery] = ()) -> int:
    """Create the new events, move on the stored ones of the same (queue id, recipient),
    and give stored events their Dovecot delivery (folder, Sieve action) read late."""
    directory = _Directory(e for r in records
                           for e in (r.recipient, r.original_recipient, r.sasl_username, r.sender))
    # The last line about a (queue id, recipient) in the batch says where it stands.
    latest: dict[tuple, DeliveryEvent] = {}
    fresh: list[DeliveryEvent] = []
    for record in records:
        event = _event(host, record, directory)
        if not event.queue_id:
            fresh.append(event)  # NOQUEUE: nothing to follow it by
            continue
        previous = latest.get(_key(event))
        if previous is not None:
            _carry(previous, event)
        latest[_key(event)] = event
    queue_ids = sorted({key[0] for key in latest})
    stored: dict[tuple, DeliveryEvent] = {}
    for start in range(0, len(queue_ids), LOOKUP_CHUNK):
        chunk = queue_ids[start:start + LOOKUP_CHUNK]
        for event in DeliveryEvent.objects.filter(host=host, queue_id__in=chunk):
            stored[_key(event)] = event
    changed = []
    for key, event in latest.items():
        existing = stored.get(key)
        if existing is None:
            fresh.append(event)
            continue
        _carry(existing, event)
        event.pk = existing.pk
        changed.append(event)
    DeliveryEvent.objects.bulk_create(fresh, batch_size=1000)
    if changed:
        DeliveryEvent.objects.bulk_update(changed, UPDATED_FIELDS, batch_size=500)
    return len(fresh) + len(changed) + _join_late(host, late)


def _carry(older: DeliveryEvent, newer: DeliveryEvent) -> None:
    """What a later line about the same (message, recipient) does not repeat."""
    for name in ("folder", "sieve_action", "session", "subject", "message_id", "sender",
                 "sasl_username", "mail_service_id", "address_id", "sender_address_id"):
        if not getattr(newer, name) and getattr(older, name):
            setattr(newer, name, getattr(older, name))
    if newer.size is None:
        newer.size = older.size


def _join_late(host: str, late: list[MailboxDelivery]) -> int:
    by_session = {m.session: m for m in late}
    if not by_session:
        return 0
    changed = []
    sessions = sorted(by_session)
    for start in range(0, len(sessions), LOOKUP_CHUNK):
        rows = DeliveryEvent.objects.filter(host=host, session__in=sessions[start:start + LOOKUP_CHUNK])
        for event in rows:
            for name, value in joined(event, by_session[event.session]).items():
                setattr(event, name, value)
            changed.append(event)
    if changed:
        DeliveryEvent.objects.bulk_update(changed, ["folder", "sieve_action", "subject", "status"],
                                          batch_size=500)
    return len(changed)


# --- scheduling -------------------------------------------------------------------------

def queue_delivery_log_reads() -> int:
    """Ask each backend host's own worker (its queue) to read its logs: they are local
    files of the host."""
    from ..push import _hosts
    from ..tasks import read_delivery_log

    hosts = _hosts()
    for host in hosts:
        read_delivery_log.apply_async((host,), queue=f"mail-{host}")
    return len(hosts)


def read_host_delivery_log(host: str) -> int:
    """On the worker of `host`: its new events, and the removal of old rotated files."""
    from ..push import _hosts

    config = _hosts().get(host)
    if config is None:
        log.warning("delivery log: no mail backend host named %r is configured", host)
        return 0
    count = delivery_log_ingest(host=host, config=config)
    remove_old_log_files(config=config)
    return count

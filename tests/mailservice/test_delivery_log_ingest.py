"""Ingesting the recorded logs into DeliveryEvent rows: events attached to our addresses
and services, a second run reads nothing again, a line appended later moves a stored
event on (deferred → delivered), Dovecot's lines read late reach their stored event, and
events past DELIVERY_LOG_DAYS are purged."""
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailservice.models import DeliveryEvent, DeliveryLogCursor
from mailservice.services.delivery_log import delivery_log_ingest, delivery_log_purge
from tests.factories import make_address, make_mail_service

RECORDED = Path(__file__).resolve().parent.parent / "delivery" / "recorded"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
Status = DeliveryEvent.Status


@pytest.fixture
def example(owner, organisation):
    service = make_mail_service(owner, organisation, "example.test", plan="premium", capacity=10)
    addresses = {name: make_address(owner, service, name)
                 for name in ("alice", "bob", "carol", "dan", "off", "fwd")}
    return service, addresses


@pytest.fixture
def logs(tmp_path):
    for name in ("postfix.log", "dovecot.log"):
        shutil.copy(RECORDED / name, tmp_path / name)
    return {"postfix_log": str(tmp_path / "postfix.log"),
            "dovecot_log": str(tmp_path / "dovecot.log"), "log_time_zone": "UTC"}


def ingest(logs, now=NOW):
    return delivery_log_ingest(host="default", config=logs, now=now)


def test_each_event_belongs_to_our_address_and_service(example, logs):
    service, addresses = example
    assert ingest(logs) == 20
    plain = DeliveryEvent.objects.get(subject="plain delivered")
    assert plain.address == addresses["bob"] and plain.mail_service == service
    assert plain.status == Status.DELIVERED and plain.folder == "INBOX" and plain.host == "default"
    alias = DeliveryEvent.objects.filter(original_recipient="sales@example.test")
    assert {e.address.local_part for e in alias} == {"alice", "bob"}
    # A redirection to another server is the redirected address's.
    assert DeliveryEvent.objects.get(original_recipient="fwd@example.test").address == addresses["fwd"]


def test_an_unknown_recipient_of_our_domain_is_the_services_without_an_address(example, logs):
    service, _addresses = example
    ingest(logs)
    unknown = DeliveryEvent.objects.get(recipient="nobody@example.test", direction="in")
    assert unknown.mail_service == service and unknown.address is None


def test_mail_sent_by_an_address_is_on_its_sending_side(example, logs):
    _service, addresses = example
    ingest(logs)
    sent = DeliveryEvent.objects.filter(sender_address=addresses["alice"])
    assert {(e.status, e.recipient) for e in sent} >= {
        (Status.ACCEPTED, ""), (Status.DELIVERED, "dan@example.test"),
        (Status.DELIVERED, "bob@example.test"), (Status.REJECTED, "zed@remote.test"),
        (Status.REJECTED, "nobody@example.test")}
    to_dan = sent.get(recipient="dan@example.test")
    assert to_dan.address == addresses["dan"]  # and on dan's receiving side


def test_mail_from_outside_is_on_nobodys_sending_side(example, logs):
    ingest(logs)
    assert not DeliveryEvent.objects.filter(direction="in", sender_address__isnull=False).exists()


def test_a_second_run_reads_nothing_again(example, logs):
    ingest(logs)
    assert ingest(logs) == 0
    assert DeliveryEvent.objects.count() == 20
    cursor = DeliveryLogCursor.objects.get(host="default")
    assert cursor.postfix_offset == Path(logs["postfix_log"]).stat().st_size


def test_a_deferred_event_becomes_delivered_when_the_retry_succeeds(example, logs):
    ingest(logs)
    deferred = DeliveryEvent.objects.get(subject="deferred one")
    assert deferred.status == Status.DEFERRED
    with open(logs["postfix_log"], "a") as handle:
        handle.write("Dec 01 11:24:02 mx postfix/lmtp[1]: 4jdz120BR3zJN8B: to=<alice@example.test>, "
                     "relay=127.0.0.1[127.0.0.1]:56677, delay=300, delays=300/0/0/0.01, "
                     "dsn=2.0.0, status=sent (250 2.0.0 <alice@example.test> "
                     "zzzzOCWtDmsEQAAAg+zDdQ Saved)\n")
    assert ingest(logs) == 1
    deferred.refresh_from_db()
    assert deferred.status == Status.DELIVERED and deferred.subject == "deferred one"
    assert deferred.time == datetime(2026, 12, 1, 11, 24, 2, tzinfo=UTC)
    assert DeliveryEvent.objects.filter(queue_id="4jdz120BR3zJN8B").count() == 1


def test_dovecot_lines_written_after_the_read_reach_their_stored_event(example, logs):
    dovecot = Path(logs["dovecot_log"])
    full = dovecot.read_text()
    dovecot.write_text("")
    ingest(logs)
    event = DeliveryEvent.objects.get(subject="monthly report")
    assert event.folder == ""
    dovecot.write_text(full)
    ingest(logs)
    event.refresh_from_db()
    assert event.folder == "Reports" and event.sieve_action.startswith("fileinto action")
    assert DeliveryEvent.objects.get(recipient="carol@example.test").status == Status.FORWARDED


def test_a_host_without_a_postfix_log_reads_nothing(example):
    assert delivery_log_ingest(host="other", config={"dovecot_log": "/nonexistent"}) == 0


def test_events_past_the_retention_are_purged(example, logs, settings):
    settings.DELIVERY_LOG_DAYS = 20
    ingest(logs)
    DeliveryEvent.objects.filter(subject="plain delivered").update(time=NOW - timedelta(days=21))
    assert delivery_log_purge(now=NOW) == 1
    assert DeliveryEvent.objects.count() == 19
    assert not DeliveryEvent.objects.filter(subject="plain delivered").exists()


def test_each_host_is_read_on_its_own_queue_and_the_beat_runs_it(tmp_path, settings, monkeypatch):
    import json

    from mailservice import push, tasks

    config = tmp_path / "hosts.json"
    config.write_text(json.dumps({"hosts": {"a": {}, "b": {}}}))
    settings.MAIL_BACKEND_CONFIG = str(config)
    push.forget_hosts()
    sent = []
    monkeypatch.setattr(tasks.read_delivery_log, "apply_async",
                        lambda args, queue: sent.append((args, queue)))
    try:
        assert tasks.watch_delivery_logs() == 2
    finally:
        push.forget_hosts()
    assert sorted(sent) == [(("a",), "mail-a"), (("b",), "mail-b")]
    beat = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"mailservice.tasks.watch_delivery_logs", "mailservice.tasks.purge_delivery_log"} <= beat


def test_the_task_reads_the_hosts_logs_named_in_its_config(example, logs, tmp_path, settings):
    import json

    from mailservice import push, tasks

    config = tmp_path / "stack.json"
    config.write_text(json.dumps(logs))  # one host: a local stack's stack.json
    settings.MAIL_BACKEND_CONFIG = str(config)
    push.forget_hosts()
    try:
        assert tasks.read_delivery_log("default") >= 20
        assert tasks.read_delivery_log("unknown-host") == 0
    finally:
        push.forget_hosts()

"""The purge (hourly) leaves the delivery log's table analysed, so the database reads a
message-id search through the message-id index instead of every event of the service
(SQLite keeps no statistics unless asked: it chose the service's time index, ~80 ms on
the 139,000 events of the benchmark); and the statistics do not turn an address's log
into a scan of the whole table (the sender index covers only the events that have a
sender address, which most have not)."""
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from mailservice.filters import DeliveryEventFilter
from mailservice.models import DeliveryEvent
from mailservice.selectors import delivery_log_of_address, delivery_log_of_service
from mailservice.services.delivery_log import delivery_log_purge
from tests.factories import make_address, make_mail_service

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def busy_service(owner, organisation):
    service = make_mail_service(owner, organisation, "busy.test", plan="premium", capacity=30)
    alice = make_address(owner, service, "alice")
    bob = make_address(owner, service, "bob")
    DeliveryEvent.objects.bulk_create(
        DeliveryEvent(mail_service=service, address=bob, sender_address=alice, host="default",
                      queue_id=f"4k{n:013d}", time=NOW - timedelta(minutes=n, seconds=30),
                      status=DeliveryEvent.Status.DELIVERED, direction="out",
                      sender="alice@busy.test", recipient="bob@busy.test",
                      message_id=f"<{n}@busy.test>", subject=f"Reply {n}")
        for n in range(30))
    # Most mail is received, by many addresses; a little is sent by one.
    others = [make_address(owner, service, f"user{n}") for n in range(20)]
    DeliveryEvent.objects.bulk_create(
        DeliveryEvent(mail_service=service, address=alice if n % 21 == 0 else others[n % 20], host="default",
                      queue_id=f"4j{n:013d}", time=NOW - timedelta(minutes=n),
                      status=DeliveryEvent.Status.DELIVERED, sender=f"s{n % 50}@shop.test",
                      recipient="someone@busy.test", message_id=f"<{n}@shop.test>",
                      subject=f"Invoice {n}")
        for n in range(3000))
    return service


def message_id_search(owner, service, message_id):
    events = delivery_log_of_service(owner, service)
    return DeliveryEventFilter({"message_id": message_id}, queryset=events).qs[:50]


def test_after_the_purge_a_message_id_search_reads_the_message_id_index(owner, busy_service):
    delivery_log_purge(now=NOW)
    search = message_id_search(owner, busy_service, "1234@shop.test")
    assert [e.subject for e in search] == ["Invoice 1234"]
    plan = search.explain()
    assert "delivery_message_id" in plan, plan


def test_after_the_purge_an_address_log_reads_the_address_and_sender_indexes(owner, busy_service):
    delivery_log_purge(now=NOW)
    alice = busy_service.addresses.get(local_part="alice")
    log = delivery_log_of_address(owner, alice)[:50]
    assert len(log) == 50 and {"Reply 0", "Invoice 0"} <= {e.subject for e in log}
    if connection.vendor == "sqlite":
        # PostgreSQL keeps statistics of its own, and on a table this small may rightly
        # read alice's 172 events in time order; SQLite's choice is the one at stake.
        plan = log.explain()
        assert "delivery_address_time" in plan and "delivery_sender_time" in plan, plan

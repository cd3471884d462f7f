"""API: `addresses/{id}/delivery-log/` and `mail-services/{id}/delivery-log/` — who sees
which events, the search filters, pagination, and the query count of a page."""
from datetime import UTC, datetime, timedelta

import pytest

from mailservice.models import DeliveryEvent, Permission
from tests.api.access import assert_access_rules
from tests.factories import add_member, grant, make_address, make_user

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
Status = DeliveryEvent.Status


def event(service, address=None, *, minutes=0, **fields):
    values = {"host": "default", "time": T0 + timedelta(minutes=minutes),
              "status": Status.DELIVERED, "sender": "someone@outside.test",
              "recipient": address.email if address else f"ghost@{service.domain}"}
    values.update(fields)
    return DeliveryEvent.objects.create(mail_service=service, address=address, **values)


@pytest.fixture
def log(premium, alice, owner):
    bob = make_address(owner, premium, "bob")
    return {
        "plain": event(premium, alice, queue_id="4jdz116Mm1zJN7Z", subject="Invoice November",
                       message_id="<inv-1@outside.test>", folder="INBOX", size=1200),
        "filed": event(premium, alice, minutes=1, subject="Weekly report", folder="Reports",
                       sieve_action="fileinto action: stored mail into mailbox 'Reports'"),
        "alias": event(premium, alice, minutes=2, original_recipient="sales@domain.xyz",
                       sender="client@customer.test"),
        "deferred": event(premium, alice, minutes=3, status=Status.DEFERRED, dsn="4.2.0",
                          reason="Internal error occurred."),
        "sent": event(premium, None, minutes=4, direction="out", sender="alice@domain.xyz",
                      recipient="partner@remote.test", status=Status.SENT,
                      sasl_username="alice@domain.xyz", sender_address=alice),
        "bob": event(premium, bob, minutes=5, subject="for bob"),
        "unknown": event(premium, None, minutes=6, status=Status.REJECTED, dsn="5.1.1",
                         reason="Recipient address rejected: User unknown"),
    }


def url(address):
    return f"/api/v1/addresses/{address.pk}/delivery-log/"


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_the_address_sees_what_it_received_and_sent_newest_first(api, owner, alice, log):
    got = ids(api(owner).get(url(alice)))
    assert got == [log[k].pk for k in ("sent", "deferred", "alias", "filed", "plain")]


def test_an_event_carries_the_delivery_facts(api, owner, alice, log):
    [row] = api(owner).get(url(alice), {"subject": "report"}).json()["results"]
    assert row["status"] == "delivered" and row["folder"] == "Reports"
    assert row["sieve_action"].startswith("fileinto action")
    assert row["address"] == {"id": alice.pk, "email": "alice@domain.xyz"}
    assert row["sender_address"] is None and row["direction"] == "in"


@pytest.mark.parametrize(("params", "keys"), [
    ({"sender": "CUSTOMER"}, ["alias"]),
    ({"recipient": "sales@"}, ["alias"]),  # the address it was first sent to
    ({"recipient": "partner"}, ["sent"]),
    ({"subject": "invoice"}, ["plain"]),
    ({"message_id": "inv-1@outside.test"}, ["plain"]),
    ({"message_id": "<inv-1@outside.test>"}, ["plain"]),
    ({"status": "deferred"}, ["deferred"]),
    ({"direction": "out"}, ["sent"]),
    ({"queue_id": "4jdz116Mm1zJN7Z"}, ["plain"]),
    ({"date_from": "2026-11-21"}, []),
    ({"date_from": "2026-11-20", "date_to": "2026-11-20"},
     ["sent", "deferred", "alias", "filed", "plain"]),
    ({"date_to": "2026-11-19"}, []),
])
def test_the_search_filters(api, owner, alice, log, params, keys):
    assert ids(api(owner).get(url(alice), params)) == [log[k].pk for k in keys]


def test_a_bad_filter_value_is_a_400_naming_it(api, owner, alice, log):
    response = api(owner).get(url(alice), {"status": "lost", "date_from": "yesterday"})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"status", "date_from"}


def test_the_log_is_paginated(api, owner, alice, log):
    body = api(owner).get(url(alice), {"limit": 2, "offset": 1}).json()
    assert body["count"] == 5 and [r["id"] for r in body["results"]] == [log["deferred"].pk,
                                                                       log["alias"].pk]


def test_a_user_of_the_address_with_read_sees_its_log(api, owner, member, alice, log):
    grant(owner, alice, member, [Permission.READ])
    assert len(ids(api(member).get(url(alice)))) == 5


def test_a_user_of_the_address_without_read_gets_403(api, owner, organisation, alice, log):
    sender = make_user("sender@example.org")
    add_member(organisation, sender)
    grant(owner, alice, sender, [Permission.SEND])
    response = api(sender).get(url(alice))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_access_rules_of_the_address_log(api, member, outsider, alice, log):
    assert_access_rules(api=api, member=member, outsider=outsider, detail_url=url(alice))


def test_another_organisations_address_is_a_404(api, owner, foreign_address):
    response = api(owner).get(url(foreign_address))
    assert response.status_code == 404


def test_the_service_log_has_every_event_of_the_service(api, owner, premium, log):
    got = ids(api(owner).get(f"/api/v1/mail-services/{premium.pk}/delivery-log/"))
    assert got == [log[k].pk for k in ("unknown", "bob", "sent", "deferred", "alias", "filed",
                                       "plain")]


def test_the_service_log_is_for_managers_only(api, owner, premium, alice, member, outsider, log):
    grant(owner, alice, member, [Permission.READ])  # a user of one of its addresses
    service_url = f"/api/v1/mail-services/{premium.pk}/delivery-log/"
    assert_access_rules(api=api, member=member, outsider=outsider, detail_url=service_url)


def test_a_page_of_the_log_costs_a_fixed_number_of_queries(api, owner, premium, alice, log,
                                                            django_assert_max_num_queries):
    for minutes in range(30):
        event(premium, alice, minutes=10 + minutes)
    client = api(owner)
    with django_assert_max_num_queries(8):
        assert len(ids(client.get(url(alice)))) == 35

"""Delivery log pages: the address's (linked from its page; its managers and its users
with "read"), the service's (managers), the search with htmx answering the results only,
pagination, and French."""
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import translation

from mailservice.models import DeliveryEvent, Permission
from tests.factories import PASSWORD, add_member, grant, make_user

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def event(service, address, *, minutes=0, **fields):
    values = {"host": "default", "time": T0 + timedelta(minutes=minutes), "status": "delivered",
              "sender": "someone@outside.test", "recipient": address.email if address else
              f"ghost@{service.domain}"}
    values.update(fields)
    return DeliveryEvent.objects.create(mail_service=service, address=address, **values)


@pytest.fixture
def events(premium, alice):
    return [
        event(premium, alice, subject="Monthly report", sender="boss@partner.test",
              folder="Reports", sieve_action="fileinto action: stored mail into mailbox 'Reports'"),
        event(premium, alice, minutes=1, subject="Hello", status="deferred", dsn="4.2.0",
              reason="Internal error occurred."),
        event(premium, None, minutes=2, status="rejected", dsn="5.1.1",
              reason="Recipient address rejected: User unknown"),
    ]


def login(client, user):
    assert client.login(email=user.email, password=PASSWORD)
    return client


def log_url(address):
    return f"/mail/addresses/{address.pk}/delivery-log/"


def test_the_address_page_links_to_its_delivery_log(client, owner, alice):
    body = login(client, owner).get(f"/mail/addresses/{alice.pk}/").content.decode()
    assert f'href="{log_url(alice)}"' in body


def test_the_log_shows_the_addresss_events_with_their_facts(client, owner, alice, events):
    body = login(client, owner).get(log_url(alice)).content.decode()
    assert "Monthly report" in body and "Folder: Reports" in body
    assert "4.2.0 Internal error occurred." in body
    assert "User unknown" not in body  # the service's event, of no address
    assert "Page 1 of 1 (2 events)" in body


def test_searching_by_sender_with_htmx_answers_the_results_only(client, owner, alice, events):
    response = login(client, owner).get(log_url(alice), {"sender": "partner"},
                                        HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<form" not in body and "Monthly report" in body and "Hello" not in body


def test_a_user_with_read_sees_the_log_and_the_link(client, owner, member, alice, events):
    grant(owner, alice, member, [Permission.READ])
    login(client, member)
    assert f'href="{log_url(alice)}"' in client.get(f"/mail/addresses/{alice.pk}/").content.decode()
    assert client.get(log_url(alice)).status_code == 200


def test_a_user_without_read_gets_the_403_page_and_no_link(client, owner, organisation, alice,
                                                            events):
    sender = make_user("sender@example.org")
    add_member(organisation, sender)
    grant(owner, alice, sender, [Permission.SEND])
    login(client, sender)
    assert log_url(alice) not in client.get(f"/mail/addresses/{alice.pk}/").content.decode()
    response = client.get(log_url(alice))
    assert response.status_code == 403 and "Read mail" in response.content.decode()


def test_an_outsider_gets_404(client, outsider, alice):
    assert login(client, outsider).get(log_url(alice)).status_code == 404


def test_the_service_page_links_to_the_service_log_with_every_event(client, owner, premium, events):
    login(client, owner)
    url = f"/mail/services/{premium.pk}/delivery-log/"
    assert f'href="{url}"' in client.get(f"/mail/services/{premium.pk}/").content.decode()
    body = client.get(url, {"status": "rejected"}).content.decode()
    assert "User unknown" in body and "Monthly report" not in body


def test_the_service_log_is_a_404_for_a_user_of_an_address(client, owner, member, premium, alice):
    grant(owner, alice, member, [Permission.READ])
    assert login(client, member).get(f"/mail/services/{premium.pk}/delivery-log/").status_code == 404


def test_the_log_is_paginated(client, owner, premium, alice):
    for minutes in range(55):
        event(premium, alice, minutes=minutes, subject=f"n{minutes}")
    body = login(client, owner).get(log_url(alice), {"page": 2}).content.decode()
    assert "Page 2 of 2 (55 events)" in body and "n4<" in body and "n54<" not in body


def test_the_log_reads_in_french(client, owner, alice, events):
    login(client, owner)
    with translation.override("fr"):
        body = client.get(log_url(alice), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Journal de distribution de alice@domain.xyz" in body
    assert "Différé" in body and "Dossier : Reports" in body

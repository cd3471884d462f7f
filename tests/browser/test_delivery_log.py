"""The main path of the delivery log in a real browser: from the address's page to its log,
a search by sender (htmx swaps the results, the page stays), the event and its details."""
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from mailservice.models import DeliveryEvent
from tests.browser.session import logged_in_context
from tests.factories import make_address, make_mail_service, make_organisation, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_open_an_addresss_log_search_by_sender_and_see_the_event(browser, live_server):
    owner = make_user("owner@example.org")
    service = make_mail_service(owner, make_organisation(owner, "Acme"), "domain.xyz")
    alice = make_address(owner, service, "alice")
    now = datetime.now(UTC)
    for minutes, sender, subject, status in (
            (1, "boss@partner.test", "Quarterly figures", "delivered"),
            (2, "news@shop.test", "Big sale", "delivered"),
            (3, "friend@other.test", "Lunch?", "deferred")):
        DeliveryEvent.objects.create(
            mail_service=service, address=alice, host="default", status=status,
            time=now - timedelta(minutes=minutes), sender=sender, recipient=alice.email,
            subject=subject, folder="Reports" if sender.startswith("boss") else "INBOX",
            queue_id=f"4jdz116Mm1zJN{minutes}", message_id=f"<{minutes}@x.test>")
    context = logged_in_context(browser, live_server, owner)
    page = context.new_page()
    page.goto(f"{live_server.url}/mail/addresses/{alice.pk}/")
    page.get_by_role("link", name="Delivery log").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delivery log of alice@domain.xyz")
    rows = page.locator("tr.delivery-event")
    expect(rows).to_have_count(3)
    page.evaluate("window.sameDocument = true")
    page.get_by_label("Sender").fill("partner")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Quarterly figures")
    expect(rows.first).to_contain_text("Delivered")
    expect(rows.first).to_contain_text("Folder: Reports")
    rows.first.get_by_text("More").click()
    expect(rows.first.locator("code").first).to_have_text("4jdz116Mm1zJN1")
    assert page.evaluate("window.sameDocument") is True  # htmx, not a page load
    assert "sender=partner" in page.url  # the search is in the address bar
    context.close()

"""Setting an auto-reply's period in a real Chromium whose clock is in Paris: the times
typed are read in the browser's zone, and the page then says whether it answers now."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from mailservice.models import Address
from tests.browser.session import logged_in_context
from tests.factories import make_address, make_mail_service, make_organisation, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PARIS = ZoneInfo("Europe/Paris")
LOCAL = "%Y-%m-%dT%H:%M"  # what a datetime-local input takes


def test_a_period_is_set_in_the_browser_s_zone_and_shown_scheduled_then_active(browser, live_server):
    owner = make_user("owner@example.org")
    service = make_mail_service(owner, make_organisation(owner, "Acme"), "domain.xyz")
    alice = make_address(owner, service, "alice")
    context = logged_in_context(browser, live_server, owner, timezone_id="Europe/Paris")
    page = context.new_page()
    page.goto(f"{live_server.url}/mail/addresses/{alice.pk}/")
    expect(page.locator("#autoreply-state [data-autoreply-state]")).to_have_text("Off")
    expect(page.locator("[data-time-zone-name]")).to_have_text(
        "Dates and times are in the Europe/Paris time zone.")

    now = datetime.now(PARIS).replace(second=0, microsecond=0)
    start, end = now + timedelta(days=1), now + timedelta(days=7)
    page.locator("#id_autoreply_enabled").check()
    page.locator("#id_autoreply_start").fill(start.strftime(LOCAL))
    page.locator("#id_autoreply_end").fill(end.strftime(LOCAL))
    page.locator("#id_autoreply_subject").fill("Away")
    page.locator("#id_autoreply_body").fill("Back next week.")
    page.locator("#id_autoreply_days").fill("3")
    page.get_by_role("button", name="Save auto-reply").click()

    expect(page.get_by_text("Auto-reply saved.")).to_be_visible()
    state = page.locator("#autoreply-state [data-autoreply-state]")
    expect(state).to_have_text("Scheduled")
    expect(page.locator("#autoreply-state")).to_contain_text("(Europe/Paris)")
    alice = Address.objects.get(pk=alice.pk)
    assert (alice.autoreply_start, alice.autoreply_end) == (start, end)  # the same instants
    assert (alice.autoreply_days, alice.autoreply_time_zone) == (3, "Europe/Paris")
    # The form shows the times as they were typed, in Paris.
    expect(page.locator("#id_autoreply_start")).to_have_value(start.strftime(LOCAL))

    page.locator("#id_autoreply_start").fill((now - timedelta(days=1)).strftime(LOCAL))
    page.get_by_role("button", name="Save auto-reply").click()
    expect(state).to_have_text("Active")
    page.goto(f"{live_server.url}/mail/addresses/")
    expect(page.locator(f'tr:has(a[href="/mail/addresses/{alice.pk}/"]) [data-autoreply-state]')
           ).to_have_text("Active")
    context.close()

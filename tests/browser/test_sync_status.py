"""The backend status on the mail service page changes by itself from pending to applied,
without reloading the page."""
import pytest
from django.db.models import F
from django.utils import timezone
from playwright.sync_api import expect

from mailservice.models import PUSH_KIND
from manager.core.models import PushJob
from tests.browser.session import logged_in_context
from tests.factories import make_mail_service, make_organisation, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_badge_turns_applied_without_a_reload(browser, live_server):
    owner = make_user("owner@example.org")
    service = make_mail_service(owner, make_organisation(owner, "Acme"), "domain.xyz")
    context = logged_in_context(browser, live_server, owner)
    page = context.new_page()
    page.goto(f"{live_server.url}/mail/services/{service.pk}/")
    page.evaluate("window.sameDocument = true")
    badge = page.locator(".sync-status .badge")
    expect(badge).to_have_text("Pending")
    PushJob.objects.filter(kind=PUSH_KIND, target_id=service.domain).update(
        state=PushJob.State.DONE, applied_generation=F("generation"), last_applied_at=timezone.now())
    expect(badge).to_have_text("Applied", timeout=10_000)
    expect(page.locator(".sync-status")).not_to_have_attribute("hx-trigger", "every 2s")
    assert page.evaluate("window.sameDocument") is True
    context.close()

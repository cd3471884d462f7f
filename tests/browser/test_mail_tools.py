"""The header viewer and phishing reports in a real Chromium: hostile pasted headers are
shown as text (the `<script>` visible, no dialog), the Received chain as a timeline in the
browser's time zone; an uploaded sample is reported and listed with its state."""
from pathlib import Path

import pytest
from playwright.sync_api import expect

from mailtools.models import PhishingReport
from tests.browser.session import logged_in_context
from tests.factories import make_address, make_mail_service, make_organisation, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples"

HOSTILE = ("Received: from evil.example ([203.0.113.9]) by mx.ours.example with ESMTPS;\n"
           " Fri, 27 Nov 2026 08:12:50 +0000\n"
           "Authentication-Results: mx.ours.example; spf=fail smtp.mailfrom=evil.example\n"
           "Authentication-Results: evil.example; dkim=pass header.d=bank.example\n"
           "Received: from [10.0.0.5] by evil.example; Fri, 27 Nov 2026 08:10:44 +0000\n"
           "From: \"<script>alert(1)</script>\" <security@bank.example>\n"
           "Subject: <img src=x onerror=alert(2)> pay\u202egpj.exe\n"
           "Date: not a date\n")


def watch_dialogs(page):
    opened = []
    page.on("dialog", lambda dialog: (opened.append(dialog.message), dialog.dismiss()))
    return opened


def test_hostile_headers_are_shown_as_text_with_a_timeline(browser, live_server, settings):
    settings.MAIL_AUTHSERV_IDS = ["mx.ours.example"]
    owner = make_user("owner@example.org")
    make_address(owner, make_mail_service(owner, make_organisation(owner, "Acme"), "domain.xyz"), "alice")
    context = logged_in_context(browser, live_server, owner, timezone_id="Asia/Tokyo")
    page = context.new_page()
    dialogs = watch_dialogs(page)
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Header viewer").click()
    page.get_by_label("Or paste its headers").fill(HOSTILE)
    page.get_by_role("button", name="Analyse").click()

    expect(page.locator("#analysis-sender")).to_contain_text("<script>alert(1)</script>")
    expect(page.locator("#analysis-subject")).to_contain_text("<img src=x onerror=alert(2)> pay<U+202E>gpj.exe")
    expect(page.locator("#analysis-date")).to_have_text("unknown (not a date)")
    hops = page.locator("#timeline .hop")
    expect(hops).to_have_count(2)
    expect(hops.nth(1)).to_contain_text("mx.ours.example")
    expect(hops.nth(1)).to_contain_text("+2 min 6 s")
    expect(hops.nth(1).locator("time")).to_have_attribute("datetime", "2026-11-27T17:12:50+09:00")
    expect(page.locator("#analysis-summary")).to_contain_text("Asia/Tokyo")
    expect(page.locator('.auth-result[data-verified="yes"]')).to_contain_text("verified by our server")
    expect(page.locator('.auth-result[data-verified="no"]')).to_contain_text(
        "claimed by evil.example, not verified")
    assert page.locator("#analysis script, #analysis img").count() == 0
    # The rule form of an address opens filled from the headers.
    page.get_by_role("button", name="Create a rule").click()
    expect(page.locator("h1")).to_have_text("New rule")
    expect(page.get_by_role("status")).to_contain_text("Pre-filled from the e-mail of security@bank.example")
    assert dialogs == []
    context.close()


def test_an_uploaded_message_is_reported_and_listed(browser, live_server, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    owner = make_user("owner@example.org")
    make_organisation(owner, "Acme")
    context = logged_in_context(browser, live_server, owner)
    page = context.new_page()
    page.goto(f"{live_server.url}/tools/header-analysis/")
    page.get_by_label("E-mail (.eml)").set_input_files(str(SAMPLES / "newsletter.eml"))
    page.get_by_role("button", name="Analyse").click()
    expect(page.locator("#analysis-subject")).not_to_have_text("—")
    page.get_by_role("button", name="Report phishing").click()

    expect(page.get_by_text("the message is reported")).to_be_visible()
    row = page.locator("#phishing-reports .phishing-report").first
    expect(row.locator(".badge")).to_have_text("Sent")
    report = PhishingReport.objects.get()
    assert bytes(report.original) == (SAMPLES / "newsletter.eml").read_bytes()
    context.close()


def test_the_rule_testers_upload_can_be_reported(browser, live_server, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    owner = make_user("owner@example.org")
    alice = make_address(owner, make_mail_service(owner, make_organisation(owner, "Acme"), "domain.xyz"), "alice")
    context = logged_in_context(browser, live_server, owner)
    page = context.new_page()
    page.goto(f"{live_server.url}/mail/addresses/{alice.pk}/rules/test/")
    page.get_by_label("E-mail (.eml)").set_input_files(str(SAMPLES / "facebook.eml"))
    page.get_by_role("button", name="Report phishing").click()

    expect(page.get_by_text("the message is reported")).to_be_visible()
    row = page.locator("#phishing-reports .phishing-report").first
    expect(row).to_contain_text("Vous avez 3 nouvelles notifications")
    expect(row.locator(".badge")).to_have_text("Queued")  # no worker runs in this test
    assert bytes(PhishingReport.objects.get().original) == (SAMPLES / "facebook.eml").read_bytes()
    context.close()


def test_a_failed_report_is_sent_again(browser, live_server, settings, mailoutbox):
    from mailtools.services import phishing_report_create

    settings.CELERY_TASK_ALWAYS_EAGER = True
    # The relay is down when the report is made: its send fails with the relay's error.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port(), 2
    owner = make_user("owner@example.org")
    report = phishing_report_create(actor=owner, organisation=make_organisation(owner, "Acme"),
                                    original=(SAMPLES / "newsletter.eml").read_bytes())
    assert PhishingReport.objects.get(pk=report.pk).state == "failed"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # the relay is back
    context = logged_in_context(browser, live_server, owner)
    page = context.new_page()
    page.goto(f"{live_server.url}/tools/phishing-reports/")
    row = page.locator("#phishing-reports .phishing-report").first
    expect(row.locator(".badge")).to_have_text("Failed")
    expect(row.locator(".error")).to_contain_text("Connection refused")
    row.get_by_role("button", name="Send again").click()

    expect(page.get_by_text("queued to be sent again")).to_be_visible()
    row = page.locator("#phishing-reports .phishing-report").first
    expect(row.locator(".badge")).to_have_text("Sent")
    expect(row.locator(".error")).to_have_count(0)
    expect(row.get_by_role("button", name="Send again")).to_have_count(0)
    assert PhishingReport.objects.get(pk=report.pk).state == "sent" and len(mailoutbox) == 1
    context.close()


def closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]

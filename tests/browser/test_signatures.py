"""Signatures in a real Chromium: a hostile profile value and a `javascript:` link render
as inert text in the template's preview and the user's page (each signature in its
sandboxed frame), and no dialog opens; the user's page copies the signature's HTML; the
bulk activation's progress bar advances to done without a reload."""
import pytest
from playwright.sync_api import expect

from manager.core.models import Job
from signatures import services
from signatures.models import Signature
from tests.browser.session import logged_in_context
from tests.factories import (
    add_member,
    grant,
    make_address,
    make_mail_service,
    make_organisation,
    make_user,
)
from tests.signatures.conftest import make_template

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOSTILE = "<img src=x onerror=alert(1)>"


def signature_in(page):
    """The signature's own document, inside its frame."""
    return page.frame_locator("iframe[data-testid=signature-preview]").locator("body")


def watch_dialogs(page):
    opened = []
    page.on("dialog", lambda dialog: (opened.append(dialog.message), dialog.dismiss()))
    return opened


def test_hostile_values_are_inert_text_in_the_preview_and_open_no_dialog(browser, live_server):
    owner = make_user("owner@example.org")
    service = make_mail_service(owner, make_organisation(owner, "Acme"), "domain.xyz")
    alice = make_address(owner, service, "alice")
    mallory = make_user("mallory@example.org", full_name=HOSTILE, job_title="javascript:alert(2)")
    add_member(service.organisation, mallory)
    access = grant(owner, alice, mallory, ["read", "manage_signature"])
    template = make_template(owner, service, publish=False, fields=[
        {"key": "first_name", "source": "auto"}, {"key": "last_name", "source": "auto"},
        {"key": "job_title", "source": "auto"},
        {"key": "website", "source": "user"}],
        extra_html='<a href="javascript:alert(3)" onmouseover="alert(4)">Call {{ full_name }}</a>')
    context = logged_in_context(browser, live_server, owner)
    page = context.new_page()
    opened = watch_dialogs(page)
    page.goto(f"{live_server.url}/signatures/templates/{template.pk}/")
    expect(signature_in(page)).to_contain_text("Call")  # the example address first
    page.select_option("#preview-as", str(access.pk))
    expect(page.get_by_test_id("signature-preview")).to_have_attribute(
        "src", f"/signatures/templates/{template.pk}/preview/frame/?access={access.pk}")
    preview = signature_in(page)
    expect(preview).to_contain_text(HOSTILE)
    expect(preview).to_contain_text(f"Call {HOSTILE}")
    assert preview.locator("img").count() == 0  # the value is text, not an element
    link = preview.locator("a", has_text="Call")
    assert link.get_attribute("href") is None and link.get_attribute("onmouseover") is None
    link.hover()
    link.click()
    page.wait_for_load_state()
    assert opened == []
    context.close()

    # The user's own page: their signature, with a `javascript:` website refused.
    services.template_publish(actor=owner, template=template)
    services.job_run(services.job_start(actor=owner, template=template, kind="activate",
                                        addresses=[alice]).pk)
    context = logged_in_context(browser, live_server, mallory)
    page = context.new_page()
    opened = watch_dialogs(page)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.goto(f"{live_server.url}/signatures/addresses/{alice.pk}/")
    expect(signature_in(page)).to_contain_text(HOSTILE)
    signature = Signature.objects.get()
    copy = page.locator(f"button.copy[data-copy-target='#signature-source-{signature.pk}']")
    copy.click()
    expect(copy).to_contain_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == signature.html
    page.fill(f"#v-{Signature.objects.get().pk}-website", "javascript:alert(5)")
    page.get_by_role("button", name="Save my signature").click()
    expect(page.locator(".messages, [role=alert]").first).to_contain_text("https://")
    assert "alert(5)" not in Signature.objects.get().html and "href=\"javascript" not in page.content()
    expect(signature_in(page)).to_contain_text(HOSTILE)
    assert signature_in(page).locator("img").count() == 0
    assert 'href="javascript' not in signature_in(page).inner_html()
    assert opened == []
    context.close()


def test_the_bulk_activation_progress_bar_advances_to_done(browser, live_server):
    owner = make_user("owner@example.org")
    service = make_mail_service(owner, make_organisation(owner, "Acme"), "domain.xyz",
                                capacity=10)
    addresses = [make_address(owner, service, f"user{i}") for i in range(4)]
    template = make_template(owner, service)
    context = logged_in_context(browser, live_server, owner)
    page = context.new_page()
    page.goto(f"{live_server.url}/mail/addresses/")
    for address in addresses:
        page.check(f"#sel-{address.pk}")
    page.get_by_role("button", name="Apply a signature template").click()
    page.select_option("#activate-template", str(template.pk))
    page.get_by_role("button", name="Activate").click()
    bar = page.locator("progress")
    expect(bar).to_have_attribute("value", "0")
    page.evaluate("window.sameDocument = true")
    job = Job.objects.get()
    # The worker's run, one batch at a time, as the page watches.
    from signatures import limits

    limits.BULK_BATCH_SIZE, saved = 2, limits.BULK_BATCH_SIZE
    try:
        assert services.job_claim(job.pk)
        assert services.job_step(job.pk) is True
        expect(bar).to_have_attribute("value", "50", timeout=10_000)
        assert services.job_step(job.pk) is False
    finally:
        limits.BULK_BATCH_SIZE = saved
    expect(bar).to_have_attribute("value", "100", timeout=10_000)
    expect(page.locator(".job-progress")).to_have_attribute("data-state", "done")
    expect(page.locator(".job-progress")).not_to_have_attribute("hx-trigger", "every 1s")
    assert page.evaluate("window.sameDocument") is True
    assert Signature.objects.count() == 4
    context.close()

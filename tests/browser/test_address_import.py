"""Importing a CSV file in the browser: the upload, the progress bar that moves on by
itself, the preview, the import, done — without reloading the page while a job runs."""
import pytest
from playwright.sync_api import expect

from mailservice.models import Address
from mailservice.services import bulk
from manager.core.models import Job
from tests.browser.session import logged_in_context
from tests.factories import make_mail_service, make_organisation, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_import_with_preview_and_progress_to_done(browser, live_server, tmp_path):
    owner = make_user("owner@example.org")
    service = make_mail_service(owner, make_organisation(owner, "Acme"), "domain.xyz",
                                capacity=20)
    csv = tmp_path / "addresses.csv"
    csv.write_text("local_part;display_name;aliases\nbob;Bob Brown;bobby\ncarol;Carol;\n",
                   encoding="utf-8-sig")
    context = logged_in_context(browser, live_server, owner)
    page = context.new_page()
    page.goto(f"{live_server.url}/mail/addresses/")
    page.get_by_role("link", name="Import a CSV file").click()
    page.get_by_label("Mail service").select_option(str(service.pk))
    page.get_by_label("CSV file").set_input_files(str(csv))
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator(".import-state")).to_have_text("Queued")
    page.evaluate("window.sameDocument = true")
    # The worker's part, run here: the page polls and shows each state by itself.
    bulk.import_run(Job.objects.get().pk)
    expect(page.locator(".import-summary")).to_contain_text("2 addresses, 1 aliases",
                                                            timeout=10_000)
    expect(page.locator(".import-preview")).to_contain_text("bob@domain.xyz")
    assert page.evaluate("window.sameDocument") is True
    assert not Address.objects.filter(mail_service=service).exists()
    page.get_by_role("button", name="Import these 2 addresses").click()
    expect(page.locator(".import-state")).to_have_text("Queued")
    page.evaluate("window.sameDocument = true")
    bulk.import_run(Job.objects.latest("pk").pk)
    expect(page.locator(".import-state")).to_have_text("Done", timeout=10_000)
    expect(page.locator(".import-progress")).to_have_text("100 %")
    expect(page.locator(".import-summary")).to_contain_text("Imported: 2 addresses")
    assert page.evaluate("window.sameDocument") is True
    assert sorted(Address.objects.filter(mail_service=service)
                  .values_list("local_part", flat=True)) == ["bob", "carol"]
    context.close()

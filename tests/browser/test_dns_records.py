"""The zone page in a real Chromium: a record is added without a reload and appears in the
table; a refused one shows its error on the field; a row is edited in place."""
import pytest
from playwright.sync_api import expect

from dnszones.models import Record
from tests.browser.session import logged_in_context
from tests.factories import make_domain, make_organisation, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_record_is_added_and_edited_in_place(browser, live_server):
    owner = make_user("owner@example.org")
    zone = make_domain(owner, make_organisation(owner, "Acme"), "example.org")
    context = logged_in_context(browser, live_server, owner)
    page = context.new_page()
    page.goto(f"{live_server.url}/dns/domains/{zone.pk}/")
    page.evaluate("window.sameDocument = true")

    form = page.locator("#record-add")
    form.get_by_label("Name").fill("@")
    form.get_by_label("Type").select_option("MX")
    form.get_by_label("Value").fill("10 ")
    form.get_by_role("button", name="Add the record").click()
    expect(page.locator("#record-add .has-error")).to_contain_text("not a valid MX value")

    form = page.locator("#record-add")
    form.get_by_label("Value").fill("10 mx1.example.net.")
    form.get_by_role("button", name="Add the record").click()
    row = page.locator("#record-table tbody tr").filter(has_text="mx1.example.net.")
    expect(row).to_contain_text("MX")
    assert Record.objects.get(domain=zone).value == "10 mx1.example.net."

    row.get_by_role("link", name="Edit").click()
    editing = page.locator("#record-table tr.editing")
    editing.get_by_label("Value").fill("20 mx2.example.net.")
    editing.get_by_role("button", name="Save").click()
    expect(page.locator("#record-table tbody")).to_contain_text("20 mx2.example.net.")
    expect(page.locator("#record-table tr.editing")).to_have_count(0)
    assert Record.objects.get(domain=zone).value == "20 mx2.example.net."
    assert page.evaluate("window.sameDocument") is True  # no reload on the way
    context.close()

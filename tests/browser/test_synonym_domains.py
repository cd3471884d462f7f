"""Synonym domains on the main domain's page in a real Chromium: a domain that may not be a
synonym is refused with its reason, an allowed one is added and listed, and dissociating
it asks first and then removes it."""
import pytest
from playwright.sync_api import expect

from dnszones.models import Domain
from tests.browser.session import logged_in_context
from tests.factories import make_domain, make_organisation, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_synonym_is_refused_with_its_reason_then_added_and_dissociated(browser, live_server):
    owner = make_user("owner@example.org")
    organisation = make_organisation(owner, "Acme")
    main = make_domain(owner, organisation, "main.example")
    make_domain(owner, organisation, "other.example")
    make_domain(owner, organisation, "outside.example", uses_our_dns=False)
    context = logged_in_context(browser, live_server, owner)
    page = context.new_page()
    page.goto(f"{live_server.url}/dns/domains/{main.pk}/")
    section = page.locator("#synonyms")
    expect(section).to_contain_text("No synonym domain.")

    # A domain served elsewhere cannot be a synonym: the page says why.
    refusals = section.locator("#synonym-refusals")
    refusals.locator("summary").click()
    expect(refusals).to_contain_text("outside.example")

    section.get_by_label("Domain").select_option(label="other.example")
    section.get_by_role("button", name="Add a synonym").click()
    section = page.locator("#synonyms")
    expect(section.locator("table")).to_contain_text("other.example")
    assert Domain.objects.get(name="other.example").synonym_of_id == main.pk

    section.get_by_role("button", name="Dissociate").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text("Dissociate other.example?")
    dialog.get_by_role("button", name="Confirm").click()
    expect(page.locator("#synonyms")).to_contain_text("No synonym domain.")
    assert Domain.objects.get(name="other.example").synonym_of_id is None
    context.close()

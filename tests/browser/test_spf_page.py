"""The SPF page in a real Chromium: opened from the domain page, it shows the published
record's lookup count and its tree; the qualifier is switched with a preview first, then
applied to the zone."""
import pytest
from playwright.sync_api import expect

from dnszones.models import Record
from tests.browser.session import logged_in_context
from tests.dnszones.spf_zones import serve
from tests.dnszones.test_spf_api import OVER, PROVIDERS
from tests.factories import make_domain, make_organisation, make_record, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def published(settings):
    server = serve({**PROVIDERS, "example.org": {"TXT": [OVER]}}, "example.org")
    settings.DNS_RESOLVER, settings.DNS_RESOLVER_TIMEOUT = server.address, 2
    yield server
    server.close()


def test_the_spf_page_shows_the_tree_and_switches_the_qualifier_after_a_preview(
        browser, live_server, published):
    owner = make_user("owner@example.org")
    zone = make_domain(owner, make_organisation(owner, "Acme"), "example.org")
    make_record(owner, zone, "@", "TXT", OVER)
    context = logged_in_context(browser, live_server, owner)
    page = context.new_page()
    page.goto(f"{live_server.url}/dns/domains/{zone.pk}/")
    page.get_by_role("link", name="SPF doctor").click()

    expect(page.locator("#spf-lookups")).to_contain_text("13 / 10")
    expect(page.locator("#spf-lookups")).to_contain_text("over the limit")
    tree = page.locator("#spf-tree")
    expect(tree.locator(".spf-node")).to_have_count(13)
    expect(tree.locator('[data-domain="_spf.p2.example.org"]').first).to_contain_text("3 with the records below")

    form = page.locator("#spf-qualifier-form")
    expect(form.locator('input[value="~all"]')).to_be_checked()
    form.locator('input[value="-all"]').check()
    form.get_by_role("button", name="Preview").click()
    preview = page.locator("#spf-preview")
    expect(preview).to_contain_text("DNS lookups: 13 → 13")
    expect(preview).to_contain_text(OVER.replace("~all", "-all"))
    assert Record.objects.get(domain=zone).shown_value == OVER  # nothing saved yet

    preview.get_by_role("button", name="Apply this change").click()
    expect(page.locator(".spf-zone-record")).to_have_text(OVER.replace("~all", "-all"))
    expect(page.get_by_text("The SPF record is changed: 13 → 13 DNS lookups.")).to_be_visible()
    assert Record.objects.get(domain=zone).shown_value == OVER.replace("~all", "-all")
    context.close()

"""The security check on the domain page in a real Chromium: the findings of what the DNS
answers (a private server through DNS_RESOLVER), a fix button that changes the zone, and
after the DNS serves the change, "Check again" no longer reports the problem; the domain
list shows the worst severity as a badge."""
import pytest
from playwright.sync_api import expect

from dnszones.models import Record
from tests.browser.session import logged_in_context
from tests.dnszones.spf_zones import serve
from tests.factories import make_domain, make_organisation, make_record, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OURS = {"_spf.ours.example.org": {"TXT": ["v=spf1 ip4:192.0.2.0/24 -all"]}}


@pytest.fixture
def dns(settings):
    settings.MAIL_SPF_INCLUDE, settings.MAIL_MX_HOST = "_spf.ours.example.org", "mx.ours.example"
    settings.MAIL_MX_HOSTS = {}
    servers = []

    def publish(zone):
        """Serves the zone's records as the database holds them (what a push would do)."""
        for server in servers:
            server.close()
        apex = {}
        for record in Record.objects.filter(domain=zone):
            apex.setdefault(record.fqdn, {}).setdefault(record.type, []).append(record.shown_value)
        server = serve({**OURS, **apex}, "example.org")
        servers.append(server)
        settings.DNS_RESOLVER, settings.DNS_RESOLVER_TIMEOUT = server.address, 2

    yield publish
    for server in servers:
        server.close()


def test_the_domain_page_shows_the_findings_and_a_fix_button_that_works(browser, live_server, dns):
    owner = make_user("owner@example.org")
    zone = make_domain(owner, make_organisation(owner, "Acme"), "example.org")
    make_record(owner, zone, "@", "MX", "10 mx.elsewhere.example.")
    make_record(owner, zone, "@", "TXT", "v=spf1 include:_spf.ours.example.org -all")
    dns(zone)
    context = logged_in_context(browser, live_server, owner)
    page = context.new_page()
    page.goto(f"{live_server.url}/dns/domains/{zone.pk}/")

    section = page.locator("#security-check")
    mx = section.locator('.security-finding[data-code="mx_elsewhere"]')
    expect(mx).to_contain_text("The MX records point at mx.elsewhere.example")
    expect(mx.locator(".badge")).to_have_text("Problem")
    expect(section.locator('.security-finding[data-code="spf_ok"]')).to_be_visible()
    expect(section.locator('.security-finding[data-code="dmarc_missing"]')).to_contain_text("No DMARC record")

    mx.get_by_role("button", name="Fix: replace the record").click()
    expect(page.get_by_text("The zone is changed at example.org")).to_be_visible()
    assert [r.value for r in Record.objects.filter(domain=zone, type="MX")] == ["10 mx.ours.example."]

    dns(zone)  # the push reached the DNS server
    page.locator("#security-check").get_by_role("button", name="Check again").click()
    expect(page.locator('#security-check .security-finding[data-code="mx_ok"]')).to_be_visible()
    expect(page.locator('#security-check .security-finding[data-code="mx_elsewhere"]')).to_have_count(0)

    page.goto(f"{live_server.url}/dns/")
    expect(page.locator(".security-badge")).to_have_attribute("data-severity", "warning")
    context.close()

"""The main pages under the Content-Security-Policy in a real Chromium: not one violation
(console errors, of every frame, and `securitypolicyviolation` events both watched), none
of them allowing 'unsafe-inline', a signature's own styles drawn in its sandboxed frame
(the one document with a policy of its own), while htmx still works (an address search swaps the table in place, a DNS record is added by an htmx post
carrying the CSRF token) and the switchers' selects still submit without inline handlers."""
import json
from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from dnszones.models import Domain, Record
from mailservice.models import Address, MailService
from manager.accounts.models import User
from signatures import services
from signatures.models import SignatureTemplate
from tests.signatures.conftest import make_template

from .session import logged_in_context

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Runs before any page script; events of the page's own policy are kept for the test.
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline")
                              + " " + (event.sourceFile || "") + ":" + event.lineNumber);
});
"""


@pytest.fixture
def demo_page(browser, live_server):
    call_command("demo", "--json", stdout=StringIO())
    owner = User.objects.get(email="owner@demo.example")
    context = logged_in_context(browser, live_server, owner)
    context.add_init_script(WATCH_VIOLATIONS)
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    yield page
    context.close()


def violations(page):
    return page.evaluate("window.__cspViolations")


def main_pages():
    service = MailService.objects.get(domain="demo.example")
    address = Address.objects.get(mail_service=service, local_part="alice")
    domain = Domain.objects.get(name="demo.example")
    owner = User.objects.get(email="owner@demo.example")
    organisation = owner.memberships.first().organisation
    # A signature's own HTML is styled by style= attributes (for mail clients): the pages
    # frame it as a document of its own (manager/core/csp.py MAIL_HTML_FRAME_POLICY).
    template = make_template(owner, service, extra_html='<p style="color: #c00">Call us</p>')
    services.job_run(services.job_start(actor=owner, template=template, kind="activate",
                                        addresses=[address]).pk)
    pages = ["/", "/my-mail/", "/mail/", f"/mail/services/{service.pk}/", "/mail/addresses/",
             f"/mail/addresses/{address.pk}/", "/dns/", f"/dns/domains/{domain.pk}/",
             "/signatures/", f"/signatures/addresses/{address.pk}/",
             f"/accounts/organisations/{organisation.pk}/", "/audit-log/", "/accounts/tokens/",
             "/api/v1/docs/", f"/mail/addresses/{address.pk}/users/",
             f"/mail/addresses/{address.pk}/rules/new/", f"/mail/addresses/{address.pk}/setup/",
             f"/mail/services/{service.pk}/delivery-log/", "/mail/tools/connectivity/",
             f"/dns/domains/{domain.pk}/spf/", f"/security/organisations/{organisation.pk}/",
             f"/signatures/services/{service.pk}/new/", "/tools/header-analysis/",
             "/tools/phishing-reports/"]
    pages.append(f"/signatures/templates/{template.pk}/")
    return pages


def test_the_main_pages_break_no_rule_of_the_policy(demo_page, live_server):
    page = demo_page
    seen, framed = {}, {}
    for path in main_pages():
        response = page.goto(live_server.url + path)
        assert response.status == 200, path
        policy = response.headers["content-security-policy"]
        assert "nonce-" in policy and "unsafe-inline" not in policy, path
        page.wait_for_load_state("networkidle")
        seen[path] = violations(page)
        framed[path] = [frame.url for frame in page.frames[1:]]
    assert {path: found for path, found in seen.items() if found} == {}
    # The person's page and the template's preview frame the signature. A sandboxed frame
    # runs no script, not even the listener: its violations reach the console, watched.
    assert [path for path, urls in framed.items() if urls] == [
        f"/signatures/addresses/{Address.objects.get(mail_service__domain='demo.example', local_part='alice').pk}/",
        f"/signatures/templates/{SignatureTemplate.objects.get().pk}/"], framed
    assert [e for e in page.console_errors if "Content Security Policy" in e or "Refused" in e] == []
    # The last page: the signature preview drew the signature's own colour, in its frame.
    frame = page.get_by_test_id("signature-preview")
    assert frame.evaluate("f => f.tagName + ' ' + f.getAttribute('sandbox')") == "IFRAME "
    preview = page.frame_locator("iframe[data-testid=signature-preview]").locator("body")
    expect(preview).to_contain_text("Call us")
    assert preview.locator("p").evaluate("p => getComputedStyle(p).color") == "rgb(204, 0, 0)"
    # The docs page drew its interface from its external start-up script.
    page.goto(f"{live_server.url}/api/v1/docs/")
    expect(page.locator(".swagger-ui .info")).to_be_visible()


def test_htmx_search_and_post_work_under_the_policy(demo_page, live_server):
    page = demo_page
    page.goto(f"{live_server.url}/mail/addresses/")
    page.evaluate("window.sameDocument = true")
    page.get_by_label("Search").fill("contact")
    expect(page.locator("#address-table")).to_contain_text("contact@demo.example")
    expect(page.locator("#address-table")).not_to_contain_text("alice@demo.example")
    assert page.evaluate("window.sameDocument") is True  # swapped in place, not reloaded

    domain = Domain.objects.get(name="demo.example")
    page.goto(f"{live_server.url}/dns/domains/{domain.pk}/")
    page.evaluate("window.sameDocument = true")
    form = page.locator("#record-add")
    form.get_by_label("Name").fill("csp-check")
    form.get_by_label("Type").select_option("TXT")
    form.get_by_label("Value").fill("under the policy")
    form.get_by_role("button", name="Add the record").click()
    expect(page.locator("#record-table")).to_contain_text("csp-check")
    assert page.evaluate("window.sameDocument") is True
    assert Record.objects.filter(domain=domain, name="csp-check").exists()

    # The language switcher submits on change from manager.js (no onchange attribute).
    with page.expect_navigation():
        page.select_option("#lang-switch", "fr")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert violations(page) == []
    assert [e for e in page.console_errors if "Content Security Policy" in e or "Refused" in e] == []


def test_the_watch_sees_a_violation(demo_page, live_server):
    """The listener is live: an inline handler forced into a page is reported."""
    page = demo_page
    page.goto(f"{live_server.url}/accounts/tokens/")
    page.evaluate("""() => { const b = document.createElement('button');
        b.setAttribute('onclick', 'window.ran = 1'); b.id = 'bad'; document.body.appendChild(b); }""")
    page.click("#bad")
    page.wait_for_function("window.__cspViolations.length > 0")
    assert page.evaluate("window.ran") is None
    assert any("script-src" in v for v in json.loads(json.dumps(violations(page))))

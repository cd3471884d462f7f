"""The invitation journey in real browsers: an administrator invites a new person to sales@
with three permissions; another logged-in account is refused the link; the invitee creates
her account from it and sees sales@ alone, with exactly the pages her permissions open."""
import re

import pytest
from playwright.sync_api import expect

from mailservice.models import AddressAccess
from manager.accounts.models import Membership, Organisation, User
from tests.factories import make_address, make_mail_service, make_user

from .session import logged_in_context

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

INVITEE = "nora.new@personal.example"
GRANTED = ["Read mail", "Manage sorting rules", "Manage auto-reply"]


@pytest.fixture
def shop(owner, organisation):
    service = make_mail_service(owner, organisation, "shop.example")
    return {"sales": make_address(owner, service, "sales"),
            "alice": make_address(owner, service, "alice")}


def test_an_invitee_gets_sales_and_nothing_else(browser, live_server, owner, shop):
    sales = shop["sales"]
    admin = logged_in_context(browser, live_server, owner)
    page = admin.new_page()
    page.goto(f"{live_server.url}/mail/addresses/{sales.pk}/users/")
    page.get_by_label("E-mail of the person").fill(INVITEE)
    for box in page.locator("#invite_permissions input[type=checkbox]").all():
        box.uncheck()
    for label in GRANTED:
        page.locator("#invite_permissions").get_by_label(label).check()
    page.get_by_role("button", name="Create the invitation").click()
    link = page.locator("#invitation-link").inner_text().strip()
    assert link.startswith("http") and "/invitations/" in link
    path = re.sub(r"^https?://[^/]+", "", link)

    # Someone else, logged in, holding the link: refused, with a way to switch accounts.
    stranger = logged_in_context(browser, live_server, make_user("someone@else.example"))
    other = stranger.new_page()
    other.goto(live_server.url + path)
    expect(other.locator("#invitation-refused")).to_contain_text("this invitation is for")
    expect(other.get_by_role("button", name="Log out and continue")).to_be_visible()
    assert not AddressAccess.objects.filter(address=sales).exclude(user=owner).exists()

    # The invitee: the page names who invites her to what, she only gives name and password.
    invitee = browser.new_context(locale="en-GB")
    nora = invitee.new_page()
    nora.goto(live_server.url + path)
    expect(nora.locator("main")).to_contain_text("sales@shop.example")
    for label in GRANTED:
        expect(nora.locator("main")).to_contain_text(label)
    expect(nora.locator("#invited-email")).to_have_value(INVITEE)
    nora.get_by_label("Full name").fill("Nora New")
    nora.get_by_label("Password").fill("a-long-enough-password-42")
    nora.get_by_role("button", name="Create my account and accept").click()
    nora.wait_for_load_state()

    user = User.objects.get(email=INVITEE)
    assert list(Membership.objects.filter(user=user).values_list("role", flat=True)) == ["member"]
    assert not Organisation.objects.filter(memberships__user=user, memberships__role="owner").exists()
    nora.goto(f"{live_server.url}/")
    expect(nora).to_have_url(f"{live_server.url}/my-mail/")
    main = nora.locator("main")
    expect(main).to_contain_text("sales@shop.example")
    expect(main).not_to_contain_text("alice@shop.example")
    nav = nora.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Mail services")).to_have_count(0)
    expect(nav.get_by_role("link", name="Audit log")).to_have_count(0)

    expected = {f"/mail/addresses/{sales.pk}/": 200, f"/mail/addresses/{sales.pk}/rules/": 200,
                f"/mail/addresses/{sales.pk}/devices/": 200,
                f"/mail/addresses/{sales.pk}/setup/": 200,
                f"/mail/addresses/{sales.pk}/users/": 403,
                f"/mail/addresses/{shop['alice'].pk}/": 404, "/mail/": 404, "/audit-log/": 404}
    for url, status in expected.items():
        response = nora.goto(live_server.url + url)
        assert response.status == status, (url, response.status)
    nora.goto(f"{live_server.url}/mail/addresses/{sales.pk}/")
    expect(nora.locator("#autoreply-title")).to_be_visible()
    expect(nora.locator("#redirections-title")).to_have_count(0)
    expect(nora.locator("#aliases-title")).to_have_count(0)

    # The link worked once: the stranger, even now, gets nothing from it.
    other.goto(live_server.url + path)
    expect(other.locator("main")).to_contain_text("already been used")
    for context in (admin, stranger, invitee):
        context.close()

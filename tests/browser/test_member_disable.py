"""An owner disables a member from the organisation's page (after the confirmation): the
member's open browser session is logged out at once; enabling lets them log in again."""
import pytest
from playwright.sync_api import expect

from tests.browser.session import logged_in_context
from tests.factories import PASSWORD, add_member, make_organisation, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_owner_disables_then_enables_a_member(browser, live_server):
    owner = make_user("owner@example.org")
    organisation = make_organisation(owner, "Acme")
    member = make_user("member@example.org")
    add_member(organisation, member, "member")
    theirs = logged_in_context(browser, live_server, member).new_page()
    theirs.goto(f"{live_server.url}/my-mail/")
    assert theirs.url.endswith("/my-mail/")

    page = logged_in_context(browser, live_server, owner).new_page()
    page.goto(f"{live_server.url}/accounts/organisations/{organisation.pk}/")
    row = page.get_by_role("row", name="member@example.org")
    row.get_by_role("button", name="Disable").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text("logged out everywhere")
    with page.expect_navigation():
        dialog.get_by_role("button", name="Confirm").click()
    expect(page.locator(".messages, [role=status], main").first).to_contain_text("member@example.org is disabled")
    expect(row).to_contain_text("disabled")

    theirs.goto(f"{live_server.url}/my-mail/")
    assert "/accounts/login/" in theirs.url

    with page.expect_navigation():
        row.get_by_role("button", name="Enable").click()
    expect(row).not_to_contain_text("disabled")
    theirs.get_by_label("E-mail address").fill(member.email)
    theirs.get_by_label("Password").fill(PASSWORD)
    with theirs.expect_navigation():
        theirs.get_by_role("button", name="Log in").click()
    assert "/accounts/login/" not in theirs.url

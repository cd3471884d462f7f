"""Copy buttons in a real browser: the client settings page copies the username into the
clipboard and says so, in the page's language; without the Clipboard API the text is
selected and copied the old way."""
import pytest
from playwright.sync_api import expect

from tests.browser.session import logged_in_context
from tests.factories import make_address, make_mail_service, make_organisation, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world():
    owner = make_user("owner@example.org")
    service = make_mail_service(owner, make_organisation(owner, "Acme"), "domain.xyz")
    return owner, make_address(owner, service, "alice")


@pytest.fixture
def setup_page(browser, live_server, world):
    """(page, URL of alice's client settings) in a context allowed to use the clipboard."""
    owner, alice = world
    context = logged_in_context(browser, live_server, owner)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    yield context.new_page(), f"{live_server.url}/mail/addresses/{alice.pk}/setup/"
    context.close()


def username_button(page):
    return page.locator("button.copy[data-copy-target='#client-username']")


def test_the_username_is_copied_to_the_clipboard(setup_page):
    page, url = setup_page
    page.goto(url)
    button = username_button(page)
    expect(button).to_have_text("Copy the username")
    button.click()
    expect(button).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "alice@domain.xyz"
    expect(button).to_have_text("Copy the username")  # back after a moment


def test_the_copied_label_is_in_the_pages_language(setup_page):
    page, url = setup_page
    page.goto(url)
    with page.expect_navigation():
        page.select_option("#lang-switch", "fr")
    button = username_button(page)
    expect(button).to_have_text("Copier le nom d’utilisateur")
    button.click()
    expect(button).to_have_text("Copié")
    assert page.evaluate("navigator.clipboard.readText()") == "alice@domain.xyz"


def test_without_the_clipboard_api_the_text_is_selected_and_copied(setup_page):
    page, url = setup_page
    page.add_init_script("Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    page.goto(url)
    button = username_button(page)
    button.click()
    expect(button).to_have_text("Copied")
    assert page.evaluate("window.getSelection().toString()") == "alice@domain.xyz"

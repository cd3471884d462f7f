"""At a phone's width (390 × 844) no main page scrolls sideways, even with long names in the
data: a 60-character display name, a 63-character domain label, long rule, folder, device and
organisation names. Wide content (tables) scrolls inside its own box, not the page."""
import os
import shutil

import pytest

from mailservice import services
from tests.browser.session import logged_in_context
from tests.factories import grant, make_address, make_mail_service, make_organisation, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LONG_LABEL = "averyveryverylongdomainlabelthatgoesonandonwithoutanybreakatall"  # 63 characters
LONG_NAME = "Maximilian Alexander Fitzgerald-Montgomery de la Rochefoucau"  # 60 characters
WIDER_THAN_THE_PAGE = """() => {
  const width = window.innerWidth;
  return [...document.querySelectorAll("body *")].filter((el) => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.right > width + 1 && !el.closest(".table-wrap, pre, textarea");
  }).slice(0, 5).map((el) => `${el.tagName.toLowerCase()}.${el.className} → ${Math.round(el.getBoundingClientRect().right)}px`);
}"""


@pytest.fixture
def world():
    assert len(LONG_LABEL) == 63 and len(LONG_NAME) == 60
    owner = make_user("owner@example.org", full_name=LONG_NAME)
    organisation = make_organisation(owner, "Organisation with a rather long name, Incorporated & Co")
    service = make_mail_service(owner, organisation, f"{LONG_LABEL}.example")
    address = make_address(owner, service, "firstname.middlename.lastname.department.team",
                           display_name=LONG_NAME)
    make_address(owner, make_mail_service(owner, organisation, "xn--mnchen-3ya.example"), "info")
    grant(owner, address, owner, ["read", "send", "manage_rules"])
    services.rule_create(
        actor=owner, address=address, name="Newsletters from the marketing department " * 2,
        conditions=[{"field": "from", "operator": "contains", "value": f"news@{LONG_LABEL}.example"}],
        actions=[{"kind": "move", "argument": "Archives/Newsletters/Marketing department/2026"}])
    services.device_password_create(actor=owner, address=address,
                                    name="Work laptop of " + LONG_NAME)
    services.invitation_create(actor=owner, address=address, permissions=["read"],
                               email=f"someone@{LONG_LABEL}.example")
    return owner, organisation, service, address


def pages(organisation, service, address):
    a = f"/mail/addresses/{address.pk}"
    return {"home": "/", "mail services": "/mail/", "a service": f"/mail/services/{service.pk}/",
            "addresses": "/mail/addresses/", "an address": f"{a}/", "its rules": f"{a}/rules/",
            "a rule": f"{a}/rules/new/", "users": f"{a}/users/", "devices": f"{a}/devices/",
            "client setup": f"{a}/setup/", "audit log": "/audit-log/",
            "organisation": f"/accounts/organisations/{organisation.pk}/", "not found": "/nope/"}


def overflow(page):
    """None when the page fits; else its width and the elements that stick out."""
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return None if width <= inner else (width, page.evaluate(WIDER_THAN_THE_PAGE))


def keep(page, tmp_path, name):
    path = tmp_path / f"phone-{name.replace(' ', '-')}.png"
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("MM_SCREENSHOTS"):
        shutil.copy(path, os.environ["MM_SCREENSHOTS"])


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_main_pages_fit_a_phone(browser, live_server, world, language, tmp_path):
    owner, organisation, service, address = world
    context = logged_in_context(browser, live_server, owner, viewport=PHONE, is_mobile=True,
                                has_touch=True)
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    too_wide = {}
    for name, path in pages(organisation, service, address).items():
        page.goto(live_server.url + path)
        assert page.locator("html").get_attribute("lang") == language
        if overflow(page):
            too_wide[name] = overflow(page)
        keep(page, tmp_path, f"{language}-{name}")
    context.close()
    assert too_wide == {}


def test_the_login_page_fits_a_phone(browser, live_server, tmp_path):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="en-GB")
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    assert page.get_by_role("button", name="Log in").is_visible()
    assert overflow(page) is None
    keep(page, tmp_path, "login")
    context.close()

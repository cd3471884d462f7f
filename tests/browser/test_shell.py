"""The shell in a real browser: log in as the demo owner, switch to French, confirm dialogs."""
import json
import os
import shutil
from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo():
    out = StringIO()
    call_command("demo", "--json", stdout=out)
    return json.loads(out.getvalue())


def log_in(page, live_server, demo):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("E-mail address").fill(demo["email"])
    page.get_by_label("Password").fill(demo["password"])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")


def test_demo_owner_sees_the_shell_in_english_then_french(page, live_server, demo, tmp_path):
    log_in(page, live_server, demo)
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("link", name="Mail services", exact=True).is_visible()
    assert page.get_by_role("heading", name="Demo Hosting").is_visible()
    page.screenshot(path=str(tmp_path / "shell-en.png"))
    with page.expect_navigation():
        page.select_option("#lang-switch", "fr")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.get_by_role("link", name="Services mail", exact=True).is_visible()
    assert page.get_by_role("link", name="Journal d’audit", exact=True).is_visible()
    page.screenshot(path=str(tmp_path / "shell-fr.png"))
    if os.environ.get("MM_SCREENSHOTS"):
        for name in ("shell-en.png", "shell-fr.png"):
            shutil.copy(tmp_path / name, os.environ["MM_SCREENSHOTS"])


def test_destructive_action_asks_for_confirmation(page, live_server, demo):
    log_in(page, live_server, demo)
    page.goto(f"{live_server.url}/accounts/tokens/")
    page.get_by_label("Token name").fill("temporary")
    page.get_by_role("button", name="Create a token").click()
    assert page.locator("#new-token").inner_text().startswith("mm_")
    page.get_by_role("row", name="temporary").get_by_role("button", name="Revoke").click()
    dialog = page.locator("#confirm-dialog")
    assert dialog.is_visible()
    dialog.get_by_role("button", name="Cancel").click()
    assert "active" in page.get_by_role("row", name="temporary").inner_text()
    page.get_by_role("row", name="temporary").get_by_role("button", name="Revoke").click()
    with page.expect_navigation():
        dialog.get_by_role("button", name="Confirm").click()
    assert "revoked" in page.get_by_role("row", name="temporary").inner_text()

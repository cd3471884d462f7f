"""The rule form in a real browser: condition and action rows are added and removed in
place (htmx, no page load, what was typed stays), and the rule saves with exactly the rows
left; Enter in a field saves rather than removing a row."""
import pytest
from playwright.sync_api import expect

from mailservice.models import SortingRule
from tests.browser.session import logged_in_context
from tests.factories import make_address, make_mail_service, make_organisation, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def owner():
    return make_user("owner@example.org")


@pytest.fixture
def alice(owner):
    service = make_mail_service(owner, make_organisation(owner, "Acme"), "domain.xyz")
    return make_address(owner, service, "alice")


@pytest.fixture
def rule_page(browser, live_server, owner, alice):
    context = logged_in_context(browser, live_server, owner)
    page = context.new_page()
    page.goto(f"{live_server.url}/mail/addresses/{alice.pk}/rules/new/")
    page.evaluate("window.sameDocument = true")  # gone if the page were loaded again
    yield page
    context.close()


def condition_rows(page):
    return page.locator("#rule-conditions tr.rule-row")


def test_rows_are_added_and_removed_in_place_and_the_rule_saves_them(rule_page, alice):
    page = rule_page
    page.get_by_label("Name").fill("Shop")
    page.get_by_role("button", name="Add a condition").click()
    expect(condition_rows(page)).to_have_count(2)
    expect(page.locator("#id_cond-1-field")).to_be_focused()
    expect(page.locator("input[name=cond-TOTAL_FORMS]")).to_have_value("2")
    page.select_option("#id_cond-0-field", "from")
    page.fill("#id_cond-0-value", "spam.example")
    page.select_option("#id_cond-1-field", "subject")
    page.fill("#id_cond-1-value", "order")
    page.get_by_role("button", name="Remove condition 1").click()
    expect(condition_rows(page)).to_have_count(1)
    expect(page.locator("input[name=cond-TOTAL_FORMS]")).to_have_value("1")
    expect(page.locator("#id_cond-0-field")).to_have_value("subject")  # moved up, kept
    expect(page.locator("#id_cond-0-value")).to_have_value("order")
    page.get_by_role("button", name="Add an action").click()
    # The row is there before the next click, as a person would see it (the click on a
    # button of the replaced fieldset would otherwise race the swap).
    expect(page.locator("#rule-actions tr.rule-row")).to_have_count(2)
    page.get_by_role("button", name="Remove action 1").click()
    expect(page.locator("#rule-actions tr.rule-row")).to_have_count(1)
    page.select_option("#id_act-0-kind", "move")
    page.fill("#id_act-0-argument", "Orders")
    expect(page.get_by_label("Name")).to_have_value("Shop")
    assert page.evaluate("window.sameDocument") is True
    with page.expect_navigation():
        page.get_by_role("button", name="Create the rule").click()
    rule = SortingRule.objects.get(address=alice)
    assert rule.name == "Shop"
    assert rule.conditions == [{"field": "subject", "operator": "contains", "value": "order"}]
    assert rule.actions == [{"kind": "move", "argument": "Orders", "keep_copy": False}]


def test_enter_in_a_field_saves_the_rule(rule_page, alice):
    page = rule_page
    page.get_by_label("Name").fill("Invoices")
    page.select_option("#id_cond-0-field", "subject")
    page.fill("#id_cond-0-value", "invoice")
    page.select_option("#id_act-0-kind", "flag")
    with page.expect_navigation():
        page.get_by_label("Name").press("Enter")
    assert SortingRule.objects.get(address=alice).conditions == [
        {"field": "subject", "operator": "contains", "value": "invoice"}]

"""Sorting-rule pages: list, form, from an e-mail, test, advanced mode."""
import re
from html import unescape
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import QueryDict

from mailservice import services
from mailservice.forms import rule_forms_edited
from mailservice.models import Address, Permission, SortingRule

SIEVE_DIR = Path(__file__).resolve().parent.parent / "sieve"
SAMPLES = SIEVE_DIR / "samples"

pytestmark = pytest.mark.django_db


def url(address, suffix=""):
    return f"/mail/addresses/{address.pk}/rules/{suffix}"


def make_rule(owner, address, name="Facebook", folder="fb"):
    return services.rule_create(
        actor=owner, address=address, name=name,
        conditions=[{"field": "from", "operator": "contains", "value": "facebook.com"}],
        actions=[{"kind": "move", "argument": folder}])


def form_data(**overrides):
    data = {
        "name": "Newsletters", "match": "any", "enabled": "on",
        "cond-TOTAL_FORMS": "2", "cond-INITIAL_FORMS": "0",
        "cond-0-field": "subject", "cond-0-operator": "contains", "cond-0-value": "news",
        "cond-1-field": "", "cond-1-operator": "contains", "cond-1-value": "",
        "act-TOTAL_FORMS": "2", "act-INITIAL_FORMS": "0",
        "act-0-kind": "move", "act-0-argument": "Mail List/News",
        "act-1-kind": "", "act-1-argument": "",
    }
    data.update(overrides)
    return data


def test_the_rule_list_renders_with_its_controls(client, owner, alice):
    make_rule(owner, alice, "First")
    make_rule(owner, alice, "Second")
    client.force_login(owner)
    response = client.get(url(alice))
    assert response.status_code == 200
    html = response.content.decode()
    assert "First" in html and "Second" in html
    for operation in ("toggle", "duplicate", "up", "down", "delete"):
        assert f'value="{operation}"' in html
    assert "data-confirm" in html
    assert url(alice, "from-message/") in html and url(alice, "test/") in html


def test_a_rule_is_created_from_the_form(client, owner, alice):
    client.force_login(owner)
    assert client.get(url(alice, "new/")).status_code == 200
    response = client.post(url(alice, "new/"), form_data())
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = SortingRule.objects.get(address=alice)
    assert rule.name == "Newsletters" and rule.match == "any"
    assert rule.conditions == [{"field": "subject", "operator": "contains", "value": "news"}]
    assert rule.actions == [{"kind": "move", "argument": "Mail List/News", "keep_copy": False}]


def test_the_form_shows_errors_on_the_row(client, owner, alice):
    client.force_login(owner)
    response = client.post(url(alice, "new/"), form_data(**{"act-0-kind": "forward",
                                                             "act-0-argument": "nope"}))
    assert response.status_code == 400
    assert "valid e-mail address" in response.content.decode()
    assert not SortingRule.objects.filter(address=alice).exists()


def test_the_form_lists_the_folders_in_a_datalist(client, owner, alice):
    make_rule(owner, alice, folder="Social/FB")
    client.force_login(owner)
    html = client.get(url(alice, "new/")).content.decode()
    assert '<datalist id="folders">' in html and '<option value="Social/FB">' in html


def test_editing_toggling_moving_duplicating_and_deleting(client, owner, alice):
    first = make_rule(owner, alice, "First")
    second = make_rule(owner, alice, "Second")
    client.force_login(owner)
    html = client.get(url(alice, f"{first.pk}/")).content.decode()
    assert 'value="facebook.com"' in html
    response = client.post(url(alice, f"{first.pk}/"), form_data(name="Renamed"))
    assert response.status_code == 302
    assert client.post(url(alice), {"operation": "toggle", "rule": second.pk}).status_code == 302
    assert SortingRule.objects.get(pk=second.pk).enabled is False
    client.post(url(alice), {"operation": "up", "rule": second.pk})
    assert list(SortingRule.objects.filter(address=alice).values_list("name", flat=True)) == [
        "Second", "Renamed"]
    client.post(url(alice), {"operation": "duplicate", "rule": second.pk})
    assert list(SortingRule.objects.filter(address=alice).values_list("name", flat=True)) == [
        "Second", "Second (copy)", "Renamed"]
    client.post(url(alice), {"operation": "delete", "rule": first.pk})
    assert SortingRule.objects.filter(address=alice).count() == 2


def test_create_from_an_email_prefills_the_form(client, owner, alice):
    client.force_login(owner)
    assert client.get(url(alice, "from-message/")).status_code == 200
    upload = SimpleUploadedFile("newsletter.eml", (SAMPLES / "newsletter.eml").read_bytes())
    response = client.post(url(alice, "from-message/"), {"message": upload})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="news@shop.example"' in html
    assert f'action="{url(alice, "new/")}"' in html
    assert not SortingRule.objects.filter(address=alice).exists()


def test_a_recipient_suggestion_can_be_ticked_and_becomes_a_condition(client, owner, alice):
    client.force_login(owner)
    upload = SimpleUploadedFile("sl.eml", (SAMPLES / "sl-devel-reply.eml").read_bytes())
    html = client.post(url(alice, "from-message/"), {"message": upload}).content.decode()
    assert 'id="suggested-conditions"' in html
    assert 'value="to:scientific-linux-devel@listserv.fnal.gov"' in html
    assert "To contains scientific-linux-devel@listserv.fnal.gov" in html
    assert "Cc contains alice@domain.xyz" in html
    data = form_data(match="all", **{"cond-0-field": "from", "cond-0-value": "fnal.example"})
    data["suggested"] = ["to:scientific-linux-devel@listserv.fnal.gov", "bcc:x@y.example"]
    assert client.post(url(alice, "new/"), data).status_code == 302
    rule = SortingRule.objects.get(address=alice)
    assert rule.conditions == [
        {"field": "from", "operator": "contains", "value": "fnal.example"},
        {"field": "to", "operator": "contains", "value": "scientific-linux-devel@listserv.fnal.gov"}]


def test_a_ticked_suggestion_stays_ticked_when_the_form_is_refused(client, owner, alice):
    client.force_login(owner)
    data = form_data(name="", suggested="cc:alice@domain.xyz")
    response = client.post(url(alice, "new/"), data)
    assert response.status_code == 400
    assert 'value="cc:alice@domain.xyz" checked' in response.content.decode()


@pytest.mark.usefixtures("sieve_test")
def test_testing_the_rules_shows_the_result_table(client, owner, alice):
    make_rule(owner, alice)
    client.force_login(owner)
    assert client.get(url(alice, "test/")).status_code == 200
    upload = SimpleUploadedFile("facebook.eml", (SAMPLES / "facebook.eml").read_bytes())
    response = client.post(url(alice, "test/"), {"message": upload})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="final-actions"' in html and "Stored in fb" in html


def test_the_rule_list_shows_the_linter_warnings_per_rule(client, owner, alice):
    make_rule(owner, alice, "Clean")
    services.rule_create(
        actor=owner, address=alice, name="Loop",
        conditions=[{"field": "subject", "operator": "contains", "value": "x"}],
        actions=[{"kind": "forward", "argument": "alice@domain.xyz"}])
    client.force_login(owner)
    html = client.get(url(alice)).content.decode()
    assert html.count('class="card warning rule-warnings"') == 1
    assert 'data-code="forward_to_self"' in html


@pytest.mark.usefixtures("sieve_test")
def test_testing_in_advanced_mode_shows_the_folder_and_the_header_edit(client, owner, alice):
    services.sieve_set(actor=owner, address=alice, mode="advanced",
                             script=(SIEVE_DIR / "guide_example_2.sieve").read_text())
    client.force_login(owner)
    assert "advanced-mode Sieve script" in client.get(url(alice, "test/")).content.decode()
    upload = SimpleUploadedFile("sl.eml", (SAMPLES / "sl-devel-reply.eml").read_bytes())
    response = client.post(url(alice, "test/"), {"message": upload})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="advanced-result"' in html and "Stored in Mail List/SL-Devel" in html
    assert "Adds “Subject: Re: kernel 6.1 update”" in html


@pytest.mark.usefixtures("sievec")
def test_advanced_mode_page_saves_shows_dovecot_errors_and_switches_back(client, owner, alice):
    make_rule(owner, alice)
    client.force_login(owner)
    assert client.get(url(alice, "advanced/")).status_code == 200
    response = client.post(url(alice, "advanced/"), {"operation": "save",
                                                     "script": 'require "fileinto";\n\nfileintoo "x";\n'})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="sieve-errors"' in html and "line 3" in html
    script = (SIEVE_DIR / "guide_example_1.sieve").read_text()
    response = client.post(url(alice, "advanced/"), {"operation": "save", "script": script})
    assert response.status_code == 302
    assert Address.objects.get(pk=alice.pk).sieve_mode == "advanced"
    upload = SimpleUploadedFile("g2.sieve", (SIEVE_DIR / "guide_example_2.sieve").read_bytes())
    assert client.post(url(alice, "advanced/"), {"operation": "import", "file": upload}).status_code == 302
    download = client.get(url(alice, "advanced/download/"))
    assert download.content.decode() == (SIEVE_DIR / "guide_example_2.sieve").read_text()
    assert "standard rules are kept" in client.get(url(alice, "advanced/")).content.decode()
    assert client.post(url(alice, "advanced/"), {"operation": "standard"}).status_code == 302
    assert Address.objects.get(pk=alice.pk).sieve_mode == "standard"
    assert SortingRule.objects.filter(address=alice).count() == 1


def test_advanced_mode_is_not_offered_on_starter(client, owner, starter):
    address = services.address_create(actor=owner, service=starter, local_part="solo")
    client.force_login(owner)
    assert "does not include the advanced mode" in client.get(url(address, "advanced/")).content.decode()
    response = client.post(url(address, "advanced/"), {"operation": "save", "script": "keep;\n"})
    assert response.status_code == 403


def test_pages_are_gated(client, owner, alice, member, outsider, other_organisation):
    access = services.access_grant(actor=owner, address=alice, user=member,
                                   permissions=[Permission.READ])
    client.force_login(member)
    assert client.get(url(alice)).status_code == 403
    assert client.get(url(alice, "advanced/")).status_code == 403
    services.access_update(actor=owner, access=access, permissions=[Permission.MANAGE_RULES])
    assert client.get(url(alice)).status_code == 200
    client.force_login(outsider)
    assert client.get(url(alice)).status_code == 404
    client.logout()
    assert client.get(url(alice)).status_code == 302  # to the login page


# --- Condition and action rows: added and removed in the form ---------------------------

def input_value(html, name):
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', html)
    assert match, name
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else None


def test_a_new_rule_starts_with_one_row_of_each(client, owner, alice):
    client.force_login(owner)
    html = client.get(url(alice, "new/")).content.decode()
    assert input_value(html, "cond-TOTAL_FORMS") == "1" and input_value(html, "act-TOTAL_FORMS") == "1"
    assert 'value="add:conditions"' in html and 'value="add:actions"' in html
    assert 'value="remove:conditions:0"' in html
    assert "Save to get more empty rows" not in html


def test_adding_a_row_without_javascript_keeps_what_was_typed_and_saves_nothing(client, owner, alice):
    client.force_login(owner)
    response = client.post(url(alice, "new/"), form_data(name="", row="add:conditions"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html and input_value(html, "cond-TOTAL_FORMS") == "3"
    assert input_value(html, "cond-0-value") == "news" and not input_value(html, "cond-2-value")
    assert input_value(html, "act-0-argument") == "Mail List/News"
    assert "This field is required" not in html  # a rule being written is not refused
    assert not SortingRule.objects.filter(address=alice).exists()


def test_with_htmx_only_the_changed_rows_come_back(client, owner, alice):
    client.force_login(owner)
    response = client.post(url(alice, "new/"), form_data(row="add:actions"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and html.count("<fieldset") == 1
    assert 'id="rule-actions"' in html and 'hx-target="this"' in html
    assert input_value(html, "act-TOTAL_FORMS") == "3" and input_value(html, "act-INITIAL_FORMS") == "0"
    assert re.search(r'<select name="act-2-kind"[^>]*autofocus', html)  # the cursor goes there
    assert f'hx-post="{url(alice, "new/")}"' in html


def test_removing_a_row_moves_the_next_ones_up_and_the_form_still_saves(client, owner, alice):
    client.force_login(owner)
    data = form_data(**{"cond-1-field": "from", "cond-1-value": "shop.example",
                        "act-0-kind": "copy", "act-0-keep_copy": "on",
                        "act-1-kind": "flag"})
    form, conditions, actions, kind = rule_forms_edited(QueryDict(urlencode(data)),
                                                         "remove:conditions:0")
    assert kind == "conditions" and conditions.total_form_count() == 1
    assert conditions.data["cond-TOTAL_FORMS"] == "1"
    assert conditions.data["cond-0-field"] == "from" and "cond-1-field" not in conditions.data
    assert conditions.data["act-0-keep_copy"] == "on"  # the other rows are untouched
    assert form.initial["name"] == "Newsletters" and not form.is_bound
    response = client.post(url(alice, "new/"), conditions.data)  # what the page posts next
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = SortingRule.objects.get(address=alice)
    assert rule.conditions == [{"field": "from", "operator": "contains", "value": "shop.example"}]
    assert [a["kind"] for a in rule.actions] == ["copy", "flag"]


def test_a_removed_rows_checkbox_does_not_tick_the_next_one(owner, alice):
    data = QueryDict(urlencode(form_data(**{"act-0-kind": "forward", "act-0-argument": "a@b.example",
                                            "act-0-keep_copy": "on"})))
    _form, _conditions, actions, _kind = rule_forms_edited(data, "remove:actions:0")
    assert actions.total_form_count() == 1 and "act-0-keep_copy" not in actions.data


def test_rows_stop_at_the_limit_and_unknown_changes_are_refused(client, owner, alice):
    from mailservice.forms import MAX_ROWS

    data = QueryDict(urlencode(form_data(**{"cond-TOTAL_FORMS": str(MAX_ROWS)})))
    assert rule_forms_edited(data, "add:conditions")[1].total_form_count() == MAX_ROWS
    for change in ("add:rules", "remove:conditions:9", "remove:actions:x", "drop:actions:0"):
        assert rule_forms_edited(QueryDict(urlencode(form_data())), change) is None
    client.force_login(owner)
    response = client.post(url(alice, "new/"), form_data(row="remove:conditions:7"))
    assert response.status_code == 400
    assert not SortingRule.objects.filter(address=alice).exists()


def test_editing_rows_is_gated_like_the_form(client, owner, alice, member, outsider,
                                             other_organisation):
    services.access_grant(actor=owner, address=alice, user=member, permissions=[Permission.READ])
    client.force_login(member)
    assert client.post(url(alice, "new/"), form_data(row="add:conditions")).status_code == 403
    client.force_login(outsider)
    assert client.post(url(alice, "new/"), form_data(row="add:conditions")).status_code == 404


# --- Advanced mode: what the pages say --------------------------------------------------

def script_on_the_page(html):
    textarea = re.search(r"<textarea[^>]*>\n?(.*?)</textarea>", html, re.S)  # as a browser reads it
    return unescape(textarea.group(1))


@pytest.mark.usefixtures("sievec")
def test_after_switching_back_the_advanced_page_shows_the_compiled_script(client, owner, alice):
    make_rule(owner, alice, folder="Social/FB")
    hand_written = 'require "fileinto";\n# written by hand\nfileinto "Hand";\n'
    services.sieve_set(actor=owner, address=alice, mode="advanced", script=hand_written)
    client.force_login(owner)
    assert script_on_the_page(client.get(url(alice, "advanced/")).content.decode()) == hand_written
    assert client.post(url(alice, "advanced/"), {"operation": "standard"}).status_code == 302
    script = script_on_the_page(client.get(url(alice, "advanced/")).content.decode())
    assert "written by hand" not in script and '"Hand"' not in script
    assert '"Social/FB"' in script
    assert script == client.get(url(alice, "advanced/download/")).content.decode()


@pytest.mark.usefixtures("sievec")
def test_while_advanced_mode_is_on_the_rule_list_says_the_rules_are_inactive(client, owner, alice):
    make_rule(owner, alice)
    client.force_login(owner)
    notice = "Advanced mode is on: these standard rules are inactive."
    assert notice not in client.get(url(alice)).content.decode()
    services.sieve_set(actor=owner, address=alice, mode="advanced", script="keep;\n")
    html = client.get(url(alice)).content.decode()
    assert notice in html and 'id="advanced-mode-notice"' in html
    partial = client.get(url(alice), HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and notice in partial  # the htmx table says it too

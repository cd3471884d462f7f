"""Sorting-rule pages: list, form, from an e-mail, test, advanced mode."""
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mailservice import services
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

"""The mail service page lists its addresses, and "New address" from there preselects the
service; an internationalised domain shows in Unicode with its ASCII form beside it."""
import re

import pytest

from mailservice.views.mail_services import MailServiceDetailView
from tests.factories import make_address, make_mail_service

pytestmark = pytest.mark.django_db


def page(client, service):
    return client.get(f"/mail/services/{service.pk}/").content.decode()


def test_the_page_lists_the_services_addresses(client, owner, premium, starter):
    make_address(owner, premium, "bob", display_name="Bob Builder", enabled=False)
    make_address(owner, premium, "alice", display_name="Alice Martin")
    make_address(owner, starter, "carol")
    client.force_login(owner)
    html = page(client, premium)
    table = re.search(r'<table id="service-addresses"[^>]*>.*?</table>', html, re.S).group(0)
    rows = re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</th>\s*<td[^>]*>(.*?)</td>\s*<td[^>]*>(.*?)</td>",
                      table, re.S)
    assert rows == [("alice@domain.xyz", "Alice Martin", "Enabled"),
                    ("bob@domain.xyz", "Bob Builder", "Disabled")]
    assert "carol@" not in table
    alice_pk = premium.addresses.get(local_part="alice").pk
    assert f'href="/mail/addresses/{alice_pk}/"' in table


def test_new_address_from_the_service_preselects_it(client, owner, premium, starter):
    client.force_login(owner)
    link = f"/mail/addresses/new/?mail_service={starter.pk}"
    assert f'href="{link}"' in page(client, starter)
    form = client.get(link).content.decode()
    choice = re.search(r'<select name="mail_service".*?</select>', form, re.S).group(0)
    assert re.search(rf'<option value="{starter.pk}" selected>', choice)
    assert not re.search(rf'<option value="{premium.pk}" selected>', choice)


def test_a_long_list_links_to_all_the_addresses(client, owner, premium, monkeypatch):
    monkeypatch.setattr(MailServiceDetailView, "addresses_shown", 2)
    for local_part in ("a1", "a2", "a3"):
        make_address(owner, premium, local_part)
    client.force_login(owner)
    html = page(client, premium)
    assert re.search(r'<table id="service-addresses"[^>]*>.*?</table>', html, re.S).group(0).count(
        '<th scope="row">') == 2
    assert f'href="/mail/addresses/?mail_service={premium.pk}">All 3 addresses' in html


def test_an_empty_service_says_so(client, owner, premium):
    client.force_login(owner)
    html = page(client, premium)
    assert "No address yet." in html and 'id="service-addresses"' not in html


def test_an_internationalised_domain_is_shown_in_unicode_with_its_ascii_form(client, owner,
                                                                             organisation):
    service = make_mail_service(owner, organisation, "münchen.example")
    assert service.domain == "xn--mnchen-3ya.example"
    info = make_address(owner, service, "info")
    client.force_login(owner)
    html = page(client, service)
    assert "<title>münchen.example · Mail Manager</title>" in html
    assert ('<h1><bdi class="idn">münchen.example</bdi> '
            '<small class="punycode">(xn--mnchen-3ya.example)</small></h1>') in html
    assert '<bdi class="idn">info@münchen.example</bdi>' in html
    listing = client.get("/mail/").content.decode()
    assert '<bdi class="idn">münchen.example</bdi>' in listing
    setup = client.get(f"/mail/addresses/{info.pk}/setup/").content.decode()
    assert "<title>Client setup · info@münchen.example · Mail Manager</title>" in setup
    assert '<bdi class="idn">info@münchen.example</bdi>' in setup
    assert '<code id="client-username">info@xn--mnchen-3ya.example</code>' in setup  # typed as is
    rules = client.get(f"/mail/addresses/{info.pk}/rules/").content.decode()
    assert '← <bdi class="idn">info@münchen.example</bdi>' in rules

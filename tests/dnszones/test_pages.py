"""The Domains & DNS pages (Django client): the list, the zone page with its records, inline
add and edit with field errors (htmx), import with a preview, export, push now, the gate."""
import pytest

from dnszones.models import Domain, Record
from manager.core.models import PushJob
from tests.factories import make_domain, make_record

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def browser(client, owner, organisation):
    client.force_login(owner)
    return client


def test_the_list_shows_the_domains_with_their_status(browser, zone):
    response = browser.get("/dns/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "example.org" in page and "Served by our DNS" in page and "Pending" in page


def test_a_domain_is_added_from_the_list(browser, organisation):
    response = browser.post("/dns/", {"name": "bücher.example", "uses_our_dns": "on"})
    domain = Domain.objects.get(name="xn--bcher-kva.example")
    assert response.status_code == 302 and response["Location"] == f"/dns/domains/{domain.pk}/"
    assert domain.organisation == organisation and domain.uses_our_dns


def test_a_bad_domain_name_is_shown_on_the_field(browser):
    response = browser.post("/dns/", {"name": "xn--zz.example"})
    assert response.status_code == 400 and "Not a valid domain name." in response.content.decode()


def test_the_zone_page_shows_records_soa_and_push_now(browser, owner, zone):
    make_record(owner, zone, "s1._domainkey", "TXT", "v=DKIM1; p=" + "B" * 300)
    page = browser.get(f"/dns/domains/{zone.pk}/").content.decode()
    assert "s1._domainkey" in page and "v=DKIM1; p=" + "B" * 300 in page  # shown joined
    assert "serial 2" in page and "refresh 3600" in page and "Push now" in page


def test_records_are_filtered_by_type_and_name_for_htmx(browser, owner, zone):
    make_record(owner, zone, "www", "A", "192.0.2.1")
    make_record(owner, zone, "mail", "AAAA", "2001:db8::1")
    response = browser.get(f"/dns/domains/{zone.pk}/records/?type=AAAA", **HTMX)
    fragment = response.content.decode()
    assert fragment.startswith('<div class="table-wrap" id="record-table">')
    assert "2001:db8::1" in fragment and "192.0.2.1" not in fragment
    fragment = browser.get(f"/dns/domains/{zone.pk}/records/?name=ww", **HTMX).content.decode()
    assert "192.0.2.1" in fragment and "2001:db8::1" not in fragment


def test_a_record_is_added_inline_and_a_refused_one_shows_its_field_error(browser, zone):
    url = f"/dns/domains/{zone.pk}/records/"
    refused = browser.post(url, {"name": "@", "type": "MX", "ttl": "3600", "value": "10 "}, **HTMX)
    fragment = refused.content.decode()
    assert refused.status_code == 200 and 'id="records"' in fragment
    assert "not a valid MX value" in fragment and 'class="field has-error"' in fragment
    added = browser.post(url, {"name": "www", "type": "A", "ttl": "", "value": "192.0.2.1"}, **HTMX)
    assert "192.0.2.1" in added.content.decode()
    assert Record.objects.get(domain=zone).ttl == zone.default_ttl


def test_without_htmx_a_refused_record_is_a_400_page(browser, zone):
    response = browser.post(f"/dns/domains/{zone.pk}/records/",
                            {"name": "@", "type": "A", "value": "999.1.1.1"})
    assert response.status_code == 400 and "not a valid A value" in response.content.decode()


def test_a_record_is_edited_inline(browser, owner, zone):
    record = make_record(owner, zone, "www", "A", "192.0.2.1")
    url = f"/dns/domains/{zone.pk}/records/{record.pk}/edit/"
    form_row = browser.get(url, **HTMX).content.decode()
    assert f'form="edit-record-{record.pk}"' in form_row and 'value="192.0.2.1"' in form_row
    refused = browser.post(url, {"name": "www", "type": "A", "ttl": "3600", "value": "1.2.3"}, **HTMX)
    assert "not a valid A value" in refused.content.decode()
    saved = browser.post(url, {"name": "www", "type": "A", "ttl": "300", "value": "192.0.2.7"}, **HTMX)
    assert saved.content.decode().startswith(f'<tr id="record-{record.pk}">')
    record.refresh_from_db()
    assert (record.value, record.ttl) == ("192.0.2.7", 300)


def test_a_record_is_deleted(browser, owner, zone):
    record = make_record(owner, zone, "www", "A", "192.0.2.1")
    response = browser.post(f"/dns/domains/{zone.pk}/records/{record.pk}/delete/")
    assert response.status_code == 302 and not Record.objects.exists()


def test_an_import_is_previewed_then_applied(browser, owner, zone):
    make_record(owner, zone, "old", "A", "192.0.2.9")
    url = f"/dns/domains/{zone.pk}/zone-file/import/"
    text = "$TTL 600\n@ MX 10 mail\nwww A 192.0.2.1\n"
    preview = browser.post(url, {"zone_file": text, "operation": "preview"}).content.decode()
    assert 'id="import-preview"' in preview and "10 mail.example.org." in preview
    assert "Removed" in preview and Record.objects.filter(domain=zone).count() == 1
    applied = browser.post(url, {"zone_file": text, "operation": "apply"})
    assert applied.status_code == 302
    assert sorted(Record.objects.values_list("name", flat=True)) == ["@", "www"]


def test_an_import_with_errors_names_the_lines(browser, zone):
    response = browser.post(f"/dns/domains/{zone.pk}/zone-file/import/",
                            {"zone_file": "ok A 192.0.2.1\nbad MX 10\n", "operation": "preview"})
    assert response.status_code == 400 and "Line 2:" in response.content.decode()


def test_the_zone_file_is_downloaded(browser, owner, zone):
    make_record(owner, zone, "www", "A", "192.0.2.1")
    response = browser.get(f"/dns/domains/{zone.pk}/zone-file/")
    assert response["Content-Disposition"] == 'attachment; filename="example.org.zone"'
    assert b"$ORIGIN example.org." in response.content


def test_push_now_queues_a_push(browser, zone):
    job = PushJob.objects.get(target_id="example.org")
    response = browser.post(f"/dns/domains/{zone.pk}/", {"operation": "sync"})
    assert response.status_code == 302
    assert PushJob.objects.get(pk=job.pk).generation == job.generation + 1


def test_the_status_badge_shows_a_failure_to_managers(browser, zone):
    PushJob.objects.filter(target_id="example.org").update(
        state="failed", last_error="No DNS server is configured (DNS_BACKEND_CONFIG).")
    badge = browser.get(f"/dns/domains/{zone.pk}/status/").content.decode()
    assert "Failed" in badge and "No DNS server is configured" in badge


def test_an_external_domain_lists_the_records_to_create(browser, owner, organisation):
    shop = make_domain(owner, organisation, "shop.example", uses_our_dns=False)
    make_record(owner, shop, "@", "MX", "10 mx1.example.net.")
    page = browser.get(f"/dns/domains/{shop.pk}/").content.decode()
    assert "Records to create at your DNS host" in page and "Not served by us" in page


def test_another_organisations_domain_is_a_404_and_a_member_sees_nothing(client, owner, member,
                                                                         outsider, zone):
    client.force_login(outsider)
    for url in (f"/dns/domains/{zone.pk}/", f"/dns/domains/{zone.pk}/zone-file/",
                f"/dns/domains/{zone.pk}/records/", f"/dns/domains/{zone.pk}/status/"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/dns/domains/{zone.pk}/records/",
                       {"type": "A", "value": "192.0.2.1"}).status_code == 404
    client.force_login(member)
    assert client.get(f"/dns/domains/{zone.pk}/").status_code == 404


def test_the_pages_are_in_french(browser, owner, zone):
    browser.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    page = browser.get(f"/dns/domains/{zone.pk}/").content.decode()
    assert "Enregistrements" in page and "Synchroniser maintenant" in page
    assert "Records" not in page and "Import a zone file" not in page
    refused = browser.post(f"/dns/domains/{zone.pk}/records/",
                           {"name": "@", "type": "MX", "value": "10 "}, **HTMX).content.decode()
    assert "n’est pas une valeur MX valide. Saisissez une priorité" in refused

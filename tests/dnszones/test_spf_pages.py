"""The SPF page of a domain: the count and the tree of the published record, the qualifier
switch previewed then applied, the merge and flatten forms; the gate."""
import pytest

from dnszones.models import SpfFlattening
from tests.factories import make_record

from .spf_zones import serve
from .test_spf_api import OVER, PROVIDERS

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(settings):
    server = serve({**PROVIDERS, "example.org": {"TXT": [OVER]}}, "example.org")
    settings.DNS_RESOLVER, settings.DNS_RESOLVER_TIMEOUT = server.address, 2
    yield server
    server.close()


def test_the_page_shows_the_count_the_tree_and_the_errors(client, owner, zone, published):
    client.force_login(owner)
    page = client.get(f"/dns/domains/{zone.pk}/spf/").content.decode()
    assert 'data-lookups="13"' in page and "over the limit" in page
    assert 'data-code="too_many_lookups"' in page
    assert page.count('class="spf-node"') == 1 + 4 + 2 + 3 + 3  # the record, 4 providers, 8 below
    assert 'data-domain="_spf.p2.example.org" data-lookups="1" data-subtotal="3"' in page
    detail = client.get(f"/dns/domains/{zone.pk}/").content.decode()
    assert f'href="/dns/domains/{zone.pk}/spf/"' in detail


def test_the_qualifier_is_previewed_then_applied(client, owner, zone, published):
    record = make_record(owner, zone, "@", "TXT", OVER)
    client.force_login(owner)
    url = f"/dns/domains/{zone.pk}/spf/"
    preview = client.post(url, {"action": "qualifier", "operation": "preview", "qualifier": "-all"})
    page = preview.content.decode()
    assert preview.status_code == 200 and 'id="spf-preview"' in page
    assert "DNS lookups: 13 → 13" in page and OVER.replace("~all", "-all") in page
    record.refresh_from_db()
    assert record.shown_value == OVER
    applied = client.post(url, {"action": "qualifier", "operation": "apply", "qualifier": "-all"})
    assert applied.status_code == 302
    record.refresh_from_db()
    assert record.shown_value == OVER.replace("~all", "-all")


def test_flattening_from_the_page_and_a_refusal_shown(client, owner, zone, published):
    make_record(owner, zone, "@", "TXT", OVER)
    client.force_login(owner)
    url = f"/dns/domains/{zone.pk}/spf/"
    assert client.post(url, {"action": "flatten", "operation": "apply", "enabled": "on"}).status_code == 302
    assert SpfFlattening.objects.filter(domain=zone).exists()
    page = client.get(url).content.decode()
    assert 'id="spf-source"' in page and "Stop flattening" in page
    refused = client.post(url, {"action": "merge", "operation": "preview", "records": "v=spf1 +all"})
    assert refused.status_code == 400 and "+all" in refused.content.decode()


def test_people_without_the_domain_get_404(client, member, outsider, zone, published):
    for user in (member, outsider):
        client.force_login(user)
        assert client.get(f"/dns/domains/{zone.pk}/spf/").status_code == 404
        assert client.post(f"/dns/domains/{zone.pk}/spf/", {"action": "flatten",
                                                            "operation": "apply"}).status_code == 404


def test_the_page_speaks_french(client, owner, zone, published):
    client.force_login(owner)
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    page = client.get(f"/dns/domains/{zone.pk}/spf/").content.decode()
    assert "Requêtes DNS" in page and "au-delà de la limite" in page
    assert "le serveur de réception rejette le message si l’émetteur n’est pas listé" in page
    assert "demande 13 requêtes DNS" in page  # the core's message, translated
    assert "over the limit" not in page

"""Synonym domains on the main domain's page: added from the page, each refusal shown with
its reason, dissociated with a confirmation, and in French."""
import pytest

from dnszones import services
from dnszones.models import Domain, ProductLink
from manager.core import outbox
from tests.factories import make_domain

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    monkeypatch.setattr(outbox, "send", lambda job, countdown=None: None)


@pytest.fixture
def browser(client, owner, organisation):
    client.force_login(owner)
    return client


@pytest.fixture
def synonym(owner, organisation):
    return make_domain(owner, organisation, "synonym.example")


def page(browser, domain):
    response = browser.get(f"/dns/domains/{domain.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_synonym_is_added_from_the_main_domains_page(browser, zone, synonym):
    html = page(browser, zone)
    assert "Synonym domains" in html and "No synonym domain." in html
    assert f'<option value="{synonym.pk}">synonym.example</option>' in html
    response = browser.post(f"/dns/domains/{zone.pk}/", {"operation": "synonym_add",
                                                         "synonym": synonym.pk}, follow=True)
    assert response.status_code == 200
    assert "synonym.example is now a synonym of example.org." in response.content.decode()
    assert Domain.objects.get(pk=synonym.pk).synonym_of_id == zone.pk
    html = page(browser, zone)
    assert f'href="/dns/domains/{synonym.pk}/"' in html and "Dissociate synonym.example?" in html
    assert "This domain is a synonym of example.org" in page(browser, synonym)


def test_a_refusal_is_shown_with_its_reason(browser, zone, synonym):
    ProductLink.objects.create(domain=zone, product=ProductLink.Product.NEWSLETTER)
    response = browser.post(f"/dns/domains/{zone.pk}/", {"operation": "synonym_add",
                                                         "synonym": synonym.pk})
    assert response.status_code == 400
    assert "example.org is tied to a newsletter: it cannot have synonyms." in response.content.decode()
    assert Domain.objects.get(pk=synonym.pk).synonym_of_id is None


def test_the_page_tells_which_domains_cannot_be_added_and_why(browser, owner, organisation, zone,
                                                              synonym):
    services.domain_update(actor=owner, domain=make_domain(owner, organisation, "ext.example"),
                           uses_our_dns=False)
    html = page(browser, zone)
    assert "Domains that cannot be added, and why" in html
    assert "ext.example must use our DNS to become a synonym." in html
    assert "synonym.example must" not in html and "synonym.example is" not in html


def test_a_domain_of_another_organisation_is_not_offered(browser, zone, outsider, other_organisation):
    foreign = make_domain(outsider, other_organisation, "foreign.example")
    assert "foreign.example" not in page(browser, zone)
    response = browser.post(f"/dns/domains/{zone.pk}/", {"operation": "synonym_add",
                                                         "synonym": foreign.pk})
    assert response.status_code == 400
    assert Domain.objects.get(pk=foreign.pk).synonym_of_id is None


def test_a_synonym_is_dissociated_from_the_main_domains_page(browser, owner, zone, synonym):
    services.synonym_add(actor=owner, main=zone, synonym=synonym)
    response = browser.post(f"/dns/domains/{zone.pk}/", {"operation": "synonym_remove",
                                                         "synonym": synonym.pk}, follow=True)
    assert "synonym.example is dissociated" in response.content.decode()
    assert Domain.objects.get(pk=synonym.pk).synonym_of_id is None


def test_another_domains_synonym_cannot_be_dissociated_from_this_page(browser, owner, organisation,
                                                                       zone, synonym):
    other = make_domain(owner, organisation, "third.example")
    services.synonym_add(actor=owner, main=other, synonym=synonym)
    response = browser.post(f"/dns/domains/{zone.pk}/", {"operation": "synonym_remove",
                                                         "synonym": synonym.pk})
    assert response.status_code == 404
    assert Domain.objects.get(pk=synonym.pk).synonym_of_id == other.pk


def test_the_synonym_section_is_in_french(browser, owner, zone, synonym):
    services.synonym_add(actor=owner, main=zone, synonym=synonym)
    browser.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    html = page(browser, zone)
    assert "Domaines synonymes" in html and "Ajouter un synonyme" in html
    assert "Dissocier synonym.example ?" in html
    assert "Synonym domains" not in html and "Add a synonym" not in html
    assert "Ce domaine est un synonyme de example.org" in page(browser, synonym)

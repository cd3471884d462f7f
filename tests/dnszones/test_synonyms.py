"""Synonym domains through the service and the API (`domains/{id}/synonyms/`): each
precondition refused with its code, the synonym's zone pushed as a copy of the main zone
and kept in sync, the main domain's mail service pushed again, and dissociation."""
import pytest

from dnszones import services
from dnszones.backends.base import RRset
from dnszones.desired import desired_state
from dnszones.models import PUSH_KIND, Domain, ProductLink
from mailservice.desired import desired_state as mail_desired_state
from mailservice.models import PUSH_KIND as MAIL_PUSH_KIND
from manager.audit.models import AuditEntry
from manager.core import outbox
from manager.core.models import PushJob
from tests.api.access import assert_access_rules
from tests.factories import add_member, make_domain, make_mail_service, make_record

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    monkeypatch.setattr(outbox, "send", lambda job, countdown=None: None)


@pytest.fixture
def synonym(owner, organisation):
    return make_domain(owner, organisation, "synonym.example")


def add(api, main, name):
    return api.post(f"/api/v1/domains/{main.pk}/synonyms/", {"domain": name}, format="json")


def pending(kind, name):
    return PushJob.objects.filter(kind=kind, target_id=name, state=PushJob.State.PENDING).exists()


def test_a_synonym_serves_a_copy_of_the_main_zone_and_loses_its_own_records(
        owner, owner_api, zone, synonym):
    make_record(owner, zone, "@", "MX", "10 mx1.example.org.")
    make_record(owner, zone, "mx1", "A", "192.0.2.25")
    make_record(owner, synonym, "old", "A", "192.0.2.77")
    PushJob.objects.all().delete()
    response = add(owner_api, zone, "Synonym.Example")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "synonym.example" and body["synonym_of"] == zone.pk
    assert not synonym.records.exists()
    state = desired_state(Domain.objects.get(pk=synonym.pk))
    assert RRset("synonym.example.", "MX", 3600, ("10 mx1.example.org.",)) in state.rrsets
    assert RRset("mx1.synonym.example.", "A", 3600, ("192.0.2.25",)) in state.rrsets
    assert not any(r.name.startswith("old.") for r in state.rrsets)
    assert pending(PUSH_KIND, "synonym.example")
    assert AuditEntry.objects.filter(verb="dns_zone.synonym_add").exists()
    listed = owner_api.get(f"/api/v1/domains/{zone.pk}/synonyms/").json()
    assert [s["name"] for s in listed["results"]] == ["synonym.example"]


def test_a_change_to_the_main_zone_pushes_the_synonym_too(owner, zone, synonym):
    services.synonym_add(actor=owner, main=zone, synonym=synonym)
    PushJob.objects.all().delete()
    make_record(owner, zone, "www", "A", "192.0.2.5")
    assert pending(PUSH_KIND, "example.org") and pending(PUSH_KIND, "synonym.example")
    assert RRset("www.synonym.example.", "A", 3600, ("192.0.2.5",)) in desired_state(
        Domain.objects.get(pk=synonym.pk)).rrsets


def test_the_records_of_a_synonym_are_edited_at_its_main_domain(owner, owner_api, zone, synonym):
    services.synonym_add(actor=owner, main=zone, synonym=synonym)
    response = owner_api.post(f"/api/v1/domains/{synonym.pk}/records/",
                              {"name": "x", "type": "A", "value": "192.0.2.1"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "synonym_zone"


def test_dissociation_leaves_the_synonym_nothing_of_the_main_domain(owner, owner_api, zone, synonym,
                                                                    settings):
    make_record(owner, zone, "@", "A", "192.0.2.10")
    services.synonym_add(actor=owner, main=zone, synonym=synonym)
    PushJob.objects.all().delete()
    response = owner_api.delete(f"/api/v1/domains/{zone.pk}/synonyms/{synonym.pk}/")
    assert response.status_code == 204, response.content
    synonym.refresh_from_db()
    assert synonym.synonym_of is None and not synonym.records.exists()
    state = desired_state(synonym)
    assert [(r.name, r.type) for r in state.rrsets] == [("synonym.example.", "NS")]
    assert pending(PUSH_KIND, "synonym.example")
    again = owner_api.delete(f"/api/v1/domains/{zone.pk}/synonyms/{synonym.pk}/")
    assert again.status_code == 404


def test_the_main_domains_mail_service_receives_the_synonym(owner, organisation, synonym):
    service = make_mail_service(owner, organisation, "mailmain.example", plan="premium")
    main = service.domain_ref
    services.domain_update(actor=owner, domain=main, uses_our_dns=True)
    PushJob.objects.all().delete()
    services.synonym_add(actor=owner, main=main, synonym=synonym)
    assert pending(MAIL_PUSH_KIND, "mailmain.example")
    assert mail_desired_state(service).synonyms == ("synonym.example",)
    PushJob.objects.all().delete()
    services.synonym_remove(actor=owner, synonym=synonym)
    assert pending(MAIL_PUSH_KIND, "mailmain.example")
    assert mail_desired_state(service).synonyms == ()


def test_a_synonym_keeps_our_dns_until_dissociated(owner, owner_api, zone, synonym):
    services.synonym_add(actor=owner, main=zone, synonym=synonym)
    response = owner_api.patch(f"/api/v1/domains/{synonym.pk}/", {"uses_our_dns": False},
                               format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "synonym_zone"
    assert owner_api.get(f"/api/v1/domains/{synonym.pk}/").json()["synonym_of"] == zone.pk


def test_a_deleted_synonym_stops_receiving_the_main_domains_mail(owner, owner_api, organisation,
                                                                 synonym):
    service = make_mail_service(owner, organisation, "mailmain.example", plan="premium")
    services.domain_update(actor=owner, domain=service.domain_ref, uses_our_dns=True)
    services.synonym_add(actor=owner, main=service.domain_ref, synonym=synonym)
    PushJob.objects.all().delete()
    assert owner_api.delete(f"/api/v1/domains/{synonym.pk}/").status_code == 204
    assert pending(MAIL_PUSH_KIND, "mailmain.example") and pending(PUSH_KIND, "synonym.example")
    assert mail_desired_state(service).synonyms == ()


def test_a_main_domain_with_synonyms_cannot_be_deleted(owner, owner_api, zone, synonym):
    services.synonym_add(actor=owner, main=zone, synonym=synonym)
    response = owner_api.delete(f"/api/v1/domains/{zone.pk}/")
    assert response.status_code == 409 and response.json()["error"]["code"] == "domain_in_use"


# --- the preconditions, each with its reason ------------------------------------------------

def test_an_unknown_domain_is_refused(owner_api, zone):
    response = add(owner_api, zone, "nowhere.example")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_domain"
    assert "domain" in response.json()["error"]["fields"]


def test_a_domain_of_another_organisation_is_refused(owner, owner_api, zone, outsider,
                                                     other_organisation):
    foreign = make_domain(outsider, other_organisation, "foreign.example")
    add_member(other_organisation, owner, "admin")  # the owner may change both domains
    response = add(owner_api, zone, "foreign.example")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "other_organisation"
    assert not Domain.objects.get(pk=foreign.pk).synonym_of_id


def test_a_domain_of_an_organisation_one_cannot_see_is_unknown(owner_api, zone, outsider,
                                                                other_organisation):
    foreign = make_domain(outsider, other_organisation, "foreign.example")
    response = add(owner_api, zone, "foreign.example")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_domain"
    assert not Domain.objects.get(pk=foreign.pk).synonym_of_id


@pytest.mark.parametrize("setup, code", [
    ("self", "same_domain"),
    ("external", "external_dns"),
    ("mail", "linked_to_product"),
    ("website", "linked_to_product"),
    ("newsletter_main", "main_has_newsletter"),
    ("already", "already_synonym"),
    ("main_is_synonym", "main_is_synonym"),
    ("has_synonyms", "has_synonyms"),
    ("main_external", "main_external_dns"),
])
def test_each_precondition_is_refused_with_its_code(owner, owner_api, organisation, zone, synonym,
                                                    setup, code):
    main, name = zone, "synonym.example"
    if setup == "self":
        name = "example.org"
    elif setup == "external":
        services.domain_update(actor=owner, domain=synonym, uses_our_dns=False)
    elif setup == "mail":
        make_mail_service(owner, organisation, "synonym.example", plan="premium")
    elif setup == "website":
        ProductLink.objects.create(domain=synonym, product=ProductLink.Product.WEBSITE)
    elif setup == "newsletter_main":
        ProductLink.objects.create(domain=zone, product=ProductLink.Product.NEWSLETTER)
    elif setup == "already":
        services.synonym_add(actor=owner, main=make_domain(owner, organisation, "third.example"),
                             synonym=synonym)
    elif setup == "main_is_synonym":
        services.synonym_add(actor=owner, main=make_domain(owner, organisation, "third.example"),
                             synonym=zone)
    elif setup == "has_synonyms":
        services.synonym_add(actor=owner, main=synonym,
                             synonym=make_domain(owner, organisation, "third.example"))
    elif setup == "main_external":
        services.domain_update(actor=owner, domain=zone, uses_our_dns=False)
    before = Domain.objects.get(pk=synonym.pk).synonym_of_id
    response = add(owner_api, main, name)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == code and error["message"] and error["fields"]["domain"]
    assert Domain.objects.get(pk=synonym.pk).synonym_of_id == before


def test_the_refusal_is_in_french(owner, zone, synonym):
    from django.utils import translation

    ProductLink.objects.create(domain=synonym, product=ProductLink.Product.NEWSLETTER)
    with translation.override("fr"):
        problem = services.synonyms.refusal(zone, synonym)
    assert problem.code == "linked_to_product" and "produit" in problem.message


def test_synonym_access_rules(api, owner, zone, synonym, member, outsider, other_organisation):
    services.synonym_add(actor=owner, main=zone, synonym=synonym)
    assert_access_rules(api=api, member=member, outsider=outsider,
                        list_url=f"/api/v1/domains/{zone.pk}/synonyms/",
                        write=("post", f"/api/v1/domains/{zone.pk}/synonyms/"),
                        write_payload={"domain": "synonym.example"})

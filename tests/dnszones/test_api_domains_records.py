"""Domains and records through the API: the fixed names, the gate, field errors."""
import pytest

from dnszones.models import Domain, Record
from manager.audit.models import AuditEntry
from manager.core.models import PushJob
from tests.api.access import assert_access_rules
from tests.factories import make_record

pytestmark = pytest.mark.django_db


def test_a_domain_is_created_with_the_fixed_names_and_stored_as_an_a_label(owner_api, organisation):
    response = owner_api.post("/api/v1/domains/", {"organisation": organisation.pk,
                                                   "name": "Bücher.example", "uses_our_dns": True},
                              format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "xn--bcher-kva.example" and body["unicode_name"] == "bücher.example"
    assert body["organisation"] == organisation.pk and body["uses_our_dns"] is True
    assert body["sync_status"] == "pending"
    assert Domain.objects.get(pk=body["id"]).name == "xn--bcher-kva.example"
    assert AuditEntry.objects.filter(object_type="dnszones.domain", action="create").exists()
    assert PushJob.objects.filter(kind="dns_zone", target_id="xn--bcher-kva.example").exists()


@pytest.mark.parametrize("name", ["xn--zz.example", "not a domain", "localhost", ""])
def test_an_invalid_domain_name_is_refused_on_the_field(owner_api, organisation, name):
    response = owner_api.post("/api/v1/domains/", {"organisation": organisation.pk, "name": name},
                              format="json")
    assert response.status_code == 400
    assert "name" in response.json()["error"]["fields"]


def test_a_domain_registered_twice_is_a_conflict(owner_api, organisation, zone):
    response = owner_api.post("/api/v1/domains/", {"organisation": organisation.pk,
                                                   "name": "EXAMPLE.org."}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "domain_taken"


def test_domain_access_rules(api, zone, member, outsider, other_organisation):
    assert_access_rules(api=api, member=member, outsider=outsider, list_url="/api/v1/domains/",
                        detail_url=f"/api/v1/domains/{zone.pk}/",
                        write=("patch", f"/api/v1/domains/{zone.pk}/"),
                        write_payload={"uses_our_dns": False})


def test_record_access_rules(api, owner, zone, member, outsider, other_organisation):
    record = make_record(owner, zone, "www")
    assert_access_rules(api=api, member=member, outsider=outsider,
                        list_url=f"/api/v1/domains/{zone.pk}/records/",
                        detail_url=f"/api/v1/domains/{zone.pk}/records/{record.pk}/",
                        write=("post", f"/api/v1/domains/{zone.pk}/records/"),
                        write_payload={"name": "x", "type": "A", "value": "192.0.2.9"})


def test_another_organisations_domain_and_records_are_404(owner_api, foreign_zone, outsider):
    record = make_record(outsider, foreign_zone, "www")
    for url in (f"/api/v1/domains/{foreign_zone.pk}/", f"/api/v1/domains/{foreign_zone.pk}/records/",
                f"/api/v1/domains/{foreign_zone.pk}/records/{record.pk}/",
                f"/api/v1/domains/{foreign_zone.pk}/zone-file/",
                f"/api/v1/domains/{foreign_zone.pk}/sync/"):
        assert owner_api.get(url).status_code == 404, url
    response = owner_api.post(f"/api/v1/domains/{foreign_zone.pk}/records/",
                              {"type": "A", "value": "nonsense"}, format="json")
    assert response.status_code == 404  # not a 400 about fields: the zone stays unknown
    assert owner_api.get("/api/v1/domains/").json()["count"] == 0


def test_a_record_is_created_with_the_fixed_names(owner_api, zone):
    url = f"/api/v1/domains/{zone.pk}/records/"
    response = owner_api.post(url, {"name": "@", "type": "MX", "ttl": 600,
                                    "value": "10 mx1.example.net."}, format="json")
    assert response.status_code == 201, response.content
    assert {k: response.json()[k] for k in ("name", "type", "ttl", "value")} == {
        "name": "@", "type": "MX", "ttl": 600, "value": "10 mx1.example.net."}
    listed = owner_api.get(url).json()
    assert [r["value"] for r in listed["results"]] == ["10 mx1.example.net."]


@pytest.mark.parametrize("body, field, words", [
    ({"type": "MX", "value": "10 "}, "value", "not a valid MX value"),
    ({"type": "A", "value": "999.1.1.1"}, "value", "not a valid A value"),
    ({"type": "MX", "value": "10 mx1.example.net"}, "value", "mx1.example.net.example.org"),
    ({"name": "www.example.org", "type": "A", "value": "192.0.2.1"}, "name", "Write “www”"),
    ({"name": "x", "type": "A", "ttl": 5, "value": "192.0.2.1"}, "ttl", "between 60"),
    ({"name": "x", "type": "SOA", "value": "ns. host. 1 2 3 4 5"}, "type", ""),
    ({"name": "@", "type": "CNAME", "value": "elsewhere.example."}, "type", "apex"),
])
def test_a_refused_record_answers_400_with_the_error_on_its_field(owner_api, zone, body, field, words):
    response = owner_api.post(f"/api/v1/domains/{zone.pk}/records/", body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert list(error["fields"]) == [field]
    assert words in error["fields"][field][0]
    assert not Record.objects.exists()


def test_a_cname_beside_other_data_is_refused_either_way_round(owner_api, owner, zone):
    url = f"/api/v1/domains/{zone.pk}/records/"
    make_record(owner, zone, "www", "A", "192.0.2.1")
    response = owner_api.post(url, {"name": "www", "type": "CNAME", "value": "web.example.net."},
                              format="json")
    assert response.status_code == 400 and "already has a A record" in \
        response.json()["error"]["fields"]["type"][0]
    make_record(owner, zone, "blog", "CNAME", "web.example.net.")
    response = owner_api.post(url, {"name": "blog", "type": "TXT", "value": "hello"}, format="json")
    assert response.status_code == 400 and "is a CNAME" in response.json()["error"]["fields"]["type"][0]


def test_a_second_spf_record_at_one_name_is_refused(owner_api, owner, zone):
    make_record(owner, zone, "@", "TXT", "v=spf1 include:spf.example.net -all")
    response = owner_api.post(f"/api/v1/domains/{zone.pk}/records/",
                              {"type": "TXT", "value": "v=spf1 mx ~all"}, format="json")
    assert response.status_code == 400
    assert "several SPF records" in response.json()["error"]["fields"]["value"][0]
    other = owner_api.post(f"/api/v1/domains/{zone.pk}/records/",
                           {"name": "mail", "type": "TXT", "value": "v=spf1 mx ~all"}, format="json")
    assert other.status_code == 201  # another name may have its own


def test_a_long_txt_is_split_into_strings_and_shown_joined(owner_api, zone):
    key = "v=DKIM1; k=rsa; p=" + "A" * 400
    response = owner_api.post(f"/api/v1/domains/{zone.pk}/records/",
                              {"name": "s1._domainkey", "type": "TXT", "value": key}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["value"] == f'"{key[:255]}" "{key[255:]}"'
    assert body["display_value"] == key


def test_a_relative_target_of_one_label_is_a_host_of_the_zone(owner_api, zone):
    response = owner_api.post(f"/api/v1/domains/{zone.pk}/records/",
                              {"type": "MX", "value": "10 mail"}, format="json")
    assert response.status_code == 201 and response.json()["value"] == "10 mail.example.org."


def test_a_record_is_updated_and_deleted_and_each_change_pushes(owner_api, owner, zone):
    record = make_record(owner, zone, "www", "A", "192.0.2.1")
    job = PushJob.objects.get(kind="dns_zone", target_id="example.org")
    url = f"/api/v1/domains/{zone.pk}/records/{record.pk}/"
    response = owner_api.patch(url, {"value": "192.0.2.2", "ttl": 300}, format="json")
    assert response.status_code == 200 and response.json()["value"] == "192.0.2.2"
    refused = owner_api.patch(url, {"value": "192.0.2"}, format="json")
    assert refused.status_code == 400 and "value" in refused.json()["error"]["fields"]
    assert owner_api.delete(url).status_code == 204
    assert PushJob.objects.get(pk=job.pk).generation == job.generation + 2
    zone.refresh_from_db()
    assert zone.serial == 4  # created, updated, deleted


def test_the_ttl_is_the_rrsets(owner_api, owner, zone):
    first = make_record(owner, zone, "www", "A", "192.0.2.1", ttl=300)
    owner_api.post(f"/api/v1/domains/{zone.pk}/records/",
                   {"name": "www", "type": "A", "ttl": 900, "value": "192.0.2.2"}, format="json")
    first.refresh_from_db()
    assert first.ttl == 900


def test_records_are_filtered_by_type_and_name(owner_api, owner, zone):
    make_record(owner, zone, "www", "A", "192.0.2.1")
    make_record(owner, zone, "www", "AAAA", "2001:db8::1")
    make_record(owner, zone, "mail", "A", "192.0.2.3")
    url = f"/api/v1/domains/{zone.pk}/records/"
    assert [r["name"] for r in owner_api.get(url + "?type=A").json()["results"]] == ["mail", "www"]
    assert [r["type"] for r in owner_api.get(url + "?name=ww").json()["results"]] == ["A", "AAAA"]


def test_the_domain_list_costs_a_constant_number_of_queries(owner_api, owner, organisation,
                                                            django_assert_max_num_queries):
    from tests.factories import make_domain

    for n in range(5):
        make_domain(owner, organisation, f"d{n}.example")
    with django_assert_max_num_queries(8):
        response = owner_api.get("/api/v1/domains/")
    assert response.json()["count"] == 5


def test_a_domain_a_mail_service_uses_cannot_be_deleted(owner_api, premium):
    domain = premium.domain_ref
    response = owner_api.delete(f"/api/v1/domains/{domain.pk}/")
    assert response.status_code == 409 and response.json()["error"]["code"] == "domain_in_use"


def test_push_now_queues_a_push_and_answers_the_status(owner_api, zone):
    job = PushJob.objects.get(kind="dns_zone", target_id="example.org")
    response = owner_api.post(f"/api/v1/domains/{zone.pk}/sync/")
    assert response.status_code == 202 and response.json()["sync_status"] == "pending"
    assert PushJob.objects.get(pk=job.pk).generation == job.generation + 1
    assert AuditEntry.objects.filter(verb="dns_zone.sync").exists()


def test_a_domain_name_is_fixed_once_created(owner_api, organisation):
    made = owner_api.post("/api/v1/domains/", {"organisation": organisation.pk,
                                               "name": "bücher.example"}, format="json").json()
    url = f"/api/v1/domains/{made['id']}/"
    same = owner_api.put(url, {"organisation": organisation.pk, "name": "Bücher.example",
                               "uses_our_dns": False}, format="json")
    assert same.status_code == 200 and same.json()["uses_our_dns"] is False
    other = owner_api.patch(url, {"name": "renamed.example"}, format="json")
    assert other.status_code == 400 and other.json()["error"]["code"] == "read_only"

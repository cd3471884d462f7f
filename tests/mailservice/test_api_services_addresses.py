"""Mail services and addresses through the API: plans, gates, validation, access."""
import pytest

from mailservice import services
from mailservice.models import Address, MailService
from mailservice.plans import PLANS
from manager.audit.models import AuditEntry
from manager.core.models import PushJob
from tests.api.access import assert_access_rules

pytestmark = pytest.mark.django_db


def test_mail_service_access_rules(api, organisation, premium, member, outsider, other_organisation):
    assert_access_rules(api=api, member=member, outsider=outsider, list_url="/api/v1/mail-services/",
                        detail_url=f"/api/v1/mail-services/{premium.pk}/",
                        write=("patch", f"/api/v1/mail-services/{premium.pk}/"),
                        write_payload={"plan": "starter"})


def test_address_access_rules(api, alice, member, outsider, other_organisation):
    assert_access_rules(api=api, member=member, outsider=outsider, list_url="/api/v1/addresses/",
                        detail_url=f"/api/v1/addresses/{alice.pk}/",
                        write=("delete", f"/api/v1/addresses/{alice.pk}/"))


def test_create_service_with_fixed_field_names_leaves_a_push_job(api, owner, organisation):
    response = api(owner).post("/api/v1/mail-services/", {
        "organisation": organisation.pk, "domain": "Example.COM", "plan": "premium"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["domain"] == "example.com" and body["plan"] == "premium"
    assert body["sync_status"] == "pending" and body["capacity"] == 5
    assert PushJob.objects.filter(kind="mail_service", target_id="example.com").exists()
    assert AuditEntry.objects.filter(object_type="mailservice.mailservice", action="create").exists()


def test_member_cannot_create_a_service(api, member, organisation):
    response = api(member).post("/api/v1/mail-services/", {
        "organisation": organisation.pk, "domain": "x.example", "plan": "premium"}, format="json")
    assert response.status_code == 403
    assert not MailService.objects.exists()


def test_cannot_create_a_service_in_another_organisation(api, owner, organisation, other_organisation):
    response = api(owner).post("/api/v1/mail-services/", {
        "organisation": other_organisation.pk, "domain": "x.example", "plan": "premium"}, format="json")
    assert response.status_code == 400
    assert "organisation" in response.json()["error"]["fields"]


@pytest.mark.parametrize("domain", ["", "no-dot", "bad_domain.com", "-x.com", "a..b.com", "1.2.3.4"])
def test_bad_domains_are_refused(api, owner, organisation, domain):
    response = api(owner).post("/api/v1/mail-services/", {
        "organisation": organisation.pk, "domain": domain, "plan": "premium"}, format="json")
    assert response.status_code == 400, domain
    assert "domain" in response.json()["error"]["fields"]


def test_premium_capacity_is_bought_in_packs_of_five(api, owner, organisation):
    response = api(owner).post("/api/v1/mail-services/", {
        "organisation": organisation.pk, "domain": "p.example", "plan": "premium", "capacity": 3},
        format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_capacity"


def test_duplicate_domain_is_a_conflict(api, owner, premium):
    response = api(owner).post("/api/v1/mail-services/", {
        "organisation": premium.organisation_id, "domain": "domain.xyz", "plan": "premium"}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "domain_taken"


def add(client, service, local_part):
    return client.post("/api/v1/addresses/", {"mail_service": service.pk, "local_part": local_part},
                       format="json")


def test_starter_refuses_a_second_address_and_a_catchall(api, owner, starter):
    client = api(owner)
    first = add(client, starter, "Info")
    assert first.status_code == 201 and first.json()["email"] == "info@starter.example"
    second = add(client, starter, "sales")
    assert second.status_code == 403
    error = second.json()["error"]
    assert error["code"] == "plan_limit_reached" and "Service Mail Starter" in error["message"]
    assert "1" in error["message"]
    catchall = add(client, starter, "catchall")
    assert catchall.status_code == 403
    assert catchall.json()["error"]["code"] == "feature_not_in_plan"
    assert "catchall" in catchall.json()["error"]["message"]
    assert Address.objects.filter(mail_service=starter).count() == 1


def test_premium_accepts_several_addresses_and_a_catchall(api, owner, premium):
    client = api(owner)
    assert add(client, premium, "one").status_code == 201
    assert add(client, premium, "two").status_code == 201
    response = add(client, premium, "catchall")
    assert response.status_code == 201 and response.json()["is_catchall"] is True


def test_premium_limit_is_its_bought_capacity(api, owner, premium):
    client = api(owner)
    for i in range(5):
        assert add(client, premium, f"user{i}").status_code == 201
    response = add(client, premium, "sixth")
    assert response.status_code == 403 and response.json()["error"]["code"] == "plan_limit_reached"
    assert client.patch(f"/api/v1/mail-services/{premium.pk}/", {"capacity": 10}, format="json").status_code == 200
    assert add(client, premium, "sixth").status_code == 201


@pytest.mark.parametrize("slug", sorted(PLANS))
def test_every_plan_enforces_its_limit_and_catchall_gate(owner, organisation, slug):
    from manager.core.errors import ServiceError

    plan = PLANS[slug]
    service = services.mail_service_create(actor=owner, organisation=organisation,
                                           domain=f"{slug.replace('_', '-')}.example", plan=slug)
    limit = service.address_limit
    if plan.catchall:
        services.address_create(actor=owner, service=service, local_part="catchall")
    else:
        with pytest.raises(ServiceError) as exc:
            services.address_create(actor=owner, service=service, local_part="catchall")
        assert exc.value.code == "feature_not_in_plan" and plan.name in exc.value.message
    while service.addresses.count() < limit:
        services.address_create(actor=owner, service=service, local_part=f"a{service.addresses.count()}")
    with pytest.raises(ServiceError) as exc:
        services.address_create(actor=owner, service=service, local_part="overflow")
    assert exc.value.code == "plan_limit_reached" and plan.name in exc.value.message


def test_downgrade_refused_while_too_many_addresses(api, owner, premium, alice):
    services.address_create(actor=owner, service=premium, local_part="bob")
    response = api(owner).patch(f"/api/v1/mail-services/{premium.pk}/", {"plan": "starter"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "plan_limit_reached"
    premium.refresh_from_db()
    assert premium.plan == "premium"


def test_downgrade_refused_while_a_catchall_exists(api, owner, premium):
    services.address_create(actor=owner, service=premium, local_part="catchall")
    response = api(owner).patch(f"/api/v1/mail-services/{premium.pk}/", {"plan": "ksuite_free"}, format="json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "feature_not_in_plan"


@pytest.mark.parametrize("local_part,code", [
    ("", "invalid_local_part"), ("a" * 65, "invalid_local_part"), (".alice", "invalid_local_part"),
    ("al..ice", "invalid_local_part"), ("al ice", "invalid_local_part"), ("al@ice", "invalid_local_part"),
    ("élodie", "invalid_local_part"), ("root", "reserved"), ("MAILER-DAEMON", "reserved"),
])
def test_local_part_validation(api, owner, premium, local_part, code):
    response = add(api(owner), premium, local_part)
    assert response.status_code == 400, local_part
    assert response.json()["error"]["code"] == code
    assert "local_part" in response.json()["error"]["fields"]


def test_local_part_is_lower_cased_and_unique(api, owner, premium, alice):
    response = add(api(owner), premium, "ALICE")
    assert response.status_code == 409 and response.json()["error"]["code"] == "local_part_taken"


def test_alias_local_part_cannot_become_an_address(api, owner, premium, alice):
    services.alias_create(actor=owner, address=alice, local_part="ali")
    assert add(api(owner), premium, "ali").status_code == 409


def test_disable_and_delete_address(api, owner, alice):
    client = api(owner)
    response = client.patch(f"/api/v1/addresses/{alice.pk}/", {"enabled": False}, format="json")
    assert response.status_code == 200 and response.json()["enabled"] is False
    entry = AuditEntry.objects.filter(object_type="mailservice.address", action="update").latest("id")
    assert entry.changes == {"enabled": [True, False]}
    assert client.delete(f"/api/v1/addresses/{alice.pk}/").status_code == 204
    assert not Address.objects.filter(pk=alice.pk).exists()


def test_local_part_cannot_be_renamed(api, owner, alice):
    response = api(owner).patch(f"/api/v1/addresses/{alice.pk}/", {"local_part": "eve"}, format="json")
    alice.refresh_from_db()
    assert alice.local_part == "alice" and response.json().get("local_part", "alice") == "alice"


def test_addresses_filter_by_service_and_search(api, owner, premium, alice, starter):
    services.address_create(actor=owner, service=starter, local_part="info")
    client = api(owner)
    results = client.get("/api/v1/addresses/", {"mail_service": premium.pk}).json()["results"]
    assert [a["email"] for a in results] == ["alice@domain.xyz"]
    results = client.get("/api/v1/addresses/", {"q": "inf"}).json()["results"]
    assert [a["email"] for a in results] == ["info@starter.example"]


def test_address_list_query_count_is_flat(api, owner, organisation, django_assert_max_num_queries):
    service = services.mail_service_create(actor=owner, organisation=organisation, domain="big.example",
                                           plan="premium", capacity=200)
    Address.objects.bulk_create(Address(mail_service=service, local_part=f"u{i}") for i in range(150))
    client = api(owner)
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/addresses/?limit=150")
    assert len(response.json()["results"]) == 150


def test_service_list_query_count_is_flat(api, owner, organisation, django_assert_max_num_queries):
    for i in range(20):
        services.mail_service_create(actor=owner, organisation=organisation, domain=f"d{i}.example",
                                     plan="starter")
    client = api(owner)
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/mail-services/")
    assert response.json()["count"] == 20


def test_service_list_filters_by_organisation(api, owner, premium, organisation):
    client = api(owner)
    assert client.get("/api/v1/mail-services/", {"organisation": organisation.pk}).json()["count"] == 1

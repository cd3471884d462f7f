import pytest

from manager.audit.models import AuditEntry

from .access import assert_access_rules

pytestmark = pytest.mark.django_db


def test_access_rules(api, organisation, member, outsider, other_organisation):
    entry = AuditEntry.objects.filter(organisation=organisation).first()
    assert_access_rules(api=api, member=member, outsider=outsider,
                        list_url="/api/v1/audit-log/", detail_url=f"/api/v1/audit-log/{entry.pk}/")


def test_member_never_sees_the_audit_log(api, member, organisation):
    entry = AuditEntry.objects.filter(organisation=organisation).first()
    assert api(member).get(f"/api/v1/audit-log/{entry.pk}/").status_code == 404
    assert api(member).get("/api/v1/audit-log/").json()["results"] == []
    response = api(member).get("/api/v1/audit-log/", {"organisation": organisation.pk})
    assert response.status_code == 403


def test_admin_sees_own_organisation_entries_only(api, admin, organisation, other_organisation):
    results = api(admin).get("/api/v1/audit-log/?limit=500").json()["results"]
    assert results and {e["organisation"] for e in results} == {organisation.pk}


def test_filters(api, owner, organisation, django_assert_max_num_queries):
    client = api(owner)
    client.patch(f"/api/v1/organisations/{organisation.pk}/", {"name": "X"}, format="json")
    results = client.get("/api/v1/audit-log/", {"action": "update"}).json()["results"]
    assert [e["action"] for e in results] == ["update"]
    results = client.get("/api/v1/audit-log/", {"object_type": "accounts.membership"}).json()["results"]
    assert results and all(e["object_type"] == "accounts.membership" for e in results)
    with django_assert_max_num_queries(5):
        client.get("/api/v1/audit-log/")


def test_entry_carries_the_request_id_of_the_request(api, owner, organisation):
    client = api(owner)
    response = client.patch(f"/api/v1/organisations/{organisation.pk}/", {"name": "Y"},
                            format="json", HTTP_X_REQUEST_ID="req-12345678")
    assert response["X-Request-ID"] == "req-12345678"
    assert AuditEntry.objects.filter(action="update").latest("id").request_id == "req-12345678"

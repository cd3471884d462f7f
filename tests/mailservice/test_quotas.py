"""Quotas in the control plane: the plan's storage caps what the addresses' quotas add up
to (UI and API alike), and the periodic report stores each address's used space, shown
in the API and the pages."""
import json

import pytest

from mailservice import push, tasks
from mailservice.backends.base import BackendError
from mailservice.backends.quota import QuotaUsage
from mailservice.models import Address
from mailservice.plans import PLANS, storage_limit_mb
from mailservice.services import quota
from tests.factories import make_address, make_mail_service

pytestmark = pytest.mark.django_db

GB = 1024


def test_the_storage_of_a_plan_grows_with_the_addresses_it_allows():
    assert storage_limit_mb(PLANS["premium"], 5) == 5 * 20 * GB
    assert storage_limit_mb(PLANS["premium"], 10) == 10 * 20 * GB
    assert storage_limit_mb(PLANS["starter"], 7) == 20 * GB  # one address, whatever the capacity
    assert storage_limit_mb(PLANS["ksuite_enterprise"], 50) is None
    # An address's default quota fits in every plan's share per address.
    default = Address._meta.get_field("quota_mb").default
    assert all(p.storage_mb_per_address is None or p.storage_mb_per_address >= default
               for p in PLANS.values())


def test_a_quota_beyond_the_plans_storage_is_refused_on_the_field(api, owner, premium, alice):
    # premium: 5 addresses of 20 GB pooled = 102400 MB; alice has the default 10240.
    client = api(owner)
    response = client.post("/api/v1/addresses/", {"mail_service": premium.pk, "local_part": "big",
                                                  "quota_mb": 92161}, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "plan_limit_reached"
    assert error["fields"]["quota_mb"] == ["At most 92160 MB on this plan."]
    assert "102400 MB of storage; its other addresses have 10240 MB" in error["message"]
    assert not premium.addresses.filter(local_part="big").exists()

    response = client.post("/api/v1/addresses/", {"mail_service": premium.pk, "local_part": "big",
                                                  "quota_mb": 92160}, format="json")
    assert response.status_code == 201, response.content  # exactly the storage left
    big = response.json()["id"]

    response = client.patch(f"/api/v1/addresses/{alice.pk}/", {"quota_mb": 10241}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "plan_limit_reached"
    assert "quota_mb" in response.json()["error"]["fields"]
    alice.refresh_from_db()
    assert alice.quota_mb == 10240

    # Lowering is always allowed, and frees storage for the others.
    assert client.patch(f"/api/v1/addresses/{big}/", {"quota_mb": 50000},
                        format="json").status_code == 200
    assert client.patch(f"/api/v1/addresses/{alice.pk}/", {"quota_mb": 52400},
                        format="json").status_code == 200


def test_a_smaller_plan_that_the_allocated_quotas_exceed_is_refused(api, owner, premium, alice):
    """premium with capacity 10 gives 200 GB; 150 GB allocated cannot move to capacity 5
    (100 GB) until quotas are lowered; once they are, it can."""
    client = api(owner)
    assert client.patch(f"/api/v1/mail-services/{premium.pk}/", {"capacity": 10},
                        format="json").status_code == 200
    for name in ("a", "b", "c"):
        assert client.post("/api/v1/addresses/", {"mail_service": premium.pk, "local_part": name,
                                                  "quota_mb": 45 * GB}, format="json").status_code == 201
    refused = client.patch(f"/api/v1/mail-services/{premium.pk}/", {"capacity": 5}, format="json")
    assert refused.status_code == 400, refused.content
    assert refused.json()["error"]["code"] == "plan_limit_reached"
    assert "plan" in refused.json()["error"]["fields"]
    Address.objects.filter(mail_service=premium, local_part__in=["a", "b"]).update(quota_mb=GB)
    assert client.patch(f"/api/v1/mail-services/{premium.pk}/", {"capacity": 5},
                        format="json").status_code == 200


def test_lowering_a_quota_works_even_when_the_service_is_over_its_storage(api, owner, premium,
                                                                          alice):
    Address.objects.filter(pk=alice.pk).update(quota_mb=200000)  # e.g. after a plan change
    client = api(owner)
    assert client.patch(f"/api/v1/addresses/{alice.pk}/", {"quota_mb": 150000},
                        format="json").status_code == 200
    response = client.patch(f"/api/v1/addresses/{alice.pk}/", {"quota_mb": 150001}, format="json")
    assert response.status_code == 400
    # Other changes of an address are not held up by the storage.
    assert client.patch(f"/api/v1/addresses/{alice.pk}/", {"display_name": "Alice M."},
                        format="json").status_code == 200


def test_a_plan_without_storage_figure_allocates_without_cap(api, owner, organisation):
    service = make_mail_service(owner, organisation, "contract.example", plan="ksuite_enterprise")
    response = api(owner).post("/api/v1/addresses/", {"mail_service": service.pk,
                                                      "local_part": "huge", "quota_mb": 1024 * 1024},
                               format="json")
    assert response.status_code == 201, response.content


def test_the_address_form_refuses_it_on_the_quota_field(client, owner, premium, alice):
    client.force_login(owner)
    response = client.post(f"/mail/addresses/{alice.pk}/", {
        "operation": "update", "display_name": "Alice", "quota_mb": "200000", "enabled": "on"})
    assert response.status_code == 400
    assert "At most 102400 MB on this plan." in response.content.decode()
    alice.refresh_from_db()
    assert alice.quota_mb == 10240


# --- the report --------------------------------------------------------------------------


class FakeBackend:
    def __init__(self, usage, failing=()):
        self.usage, self.failing, self.asked = usage, set(failing), []

    def quota_usage(self, domain):
        self.asked.append(domain)
        if domain in self.failing:
            raise BackendError("doveadm quota get: connect(...) failed", permanent=False)
        return {email: figures for email, figures in self.usage.items()
                if email.endswith("@" + domain)}


@pytest.fixture
def hosts(tmp_path, settings):
    config = tmp_path / "hosts.json"
    config.write_text(json.dumps({"hosts": {"default": {}, "other": {}}}))
    settings.MAIL_BACKEND_CONFIG = str(config)
    push.forget_hosts()
    yield
    push.forget_hosts()


def test_the_report_stores_each_addresss_use_and_keeps_what_it_lacks(
        hosts, owner, organisation, premium, alice, monkeypatch):
    bob = make_address(owner, premium, "bob")
    Address.objects.filter(pk=bob.pk).update(quota_used_mb=3.5)
    elsewhere = make_mail_service(owner, organisation, "elsewhere.example", backend_host="other")
    carol = make_address(owner, elsewhere, "carol")
    broken = make_mail_service(owner, organisation, "broken.example")
    dave = make_address(owner, broken, "dave")
    backend = FakeBackend({"alice@domain.xyz": QuotaUsage(used_kb=1536, limit_kb=10240 * 1024),
                           "carol@elsewhere.example": QuotaUsage(used_kb=10, limit_kb=None),
                           "dave@broken.example": QuotaUsage(used_kb=10, limit_kb=None)},
                          failing={"broken.example"})
    monkeypatch.setattr(push, "backend_for", lambda host: backend)

    assert tasks.report_quota_usage("default") == 1
    assert sorted(backend.asked) == ["broken.example", "domain.xyz"]  # not the other host's
    alice.refresh_from_db(), bob.refresh_from_db(), carol.refresh_from_db(), dave.refresh_from_db()
    assert alice.quota_used_mb == 1.5 and alice.quota_used_at is not None
    assert alice.quota_used_percent == 0
    assert (bob.quota_used_mb, bob.quota_used_at) == (3.5, None)  # not in the report: kept
    assert carol.quota_used_mb is None  # another host's worker reports it
    assert dave.quota_used_mb is None  # the host could not say: tried again next time
    assert tasks.report_quota_usage("unknown-host") == 0


def test_each_host_reports_on_its_own_queue_and_the_beat_runs_it(hosts, settings, monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.report_quota_usage, "apply_async",
                        lambda args, queue: sent.append((args, queue)))
    assert tasks.watch_quota_usage() == 2
    assert sorted(sent) == [(("default",), "mail-default"), (("other",), "mail-other")]
    beat = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "mailservice.tasks.watch_quota_usage" in beat


def test_the_api_shows_the_use_read_only(api, owner, premium, alice):
    quota.record_quota_usage(service=premium, usage={
        "alice@domain.xyz": QuotaUsage(used_kb=2560, limit_kb=10240 * 1024)})
    client = api(owner)
    body = client.get(f"/api/v1/addresses/{alice.pk}/").json()
    assert body["quota_used_mb"] == 2.5 and body["quota_mb"] == 10240
    assert body["quota_used_at"] is not None
    response = client.patch(f"/api/v1/addresses/{alice.pk}/", {"quota_used_mb": 0}, format="json")
    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.quota_used_mb == 2.5

    make_address(owner, premium, "bob", quota_mb=2048)
    service = client.get(f"/api/v1/mail-services/{premium.pk}/").json()
    assert (service["storage_limit_mb"], service["storage_allocated_mb"],
            service["storage_used_mb"]) == (102400, 12288, 2.5)
    listed = client.get("/api/v1/mail-services/").json()["results"]
    assert [(s["storage_allocated_mb"], s["storage_used_mb"]) for s in listed] == [(12288, 2.5)]


def test_the_pages_show_the_use_against_the_quota_and_the_plan(client, owner, premium, alice):
    make_address(owner, premium, "bob", quota_mb=2048)
    quota.record_quota_usage(service=premium, usage={
        "alice@domain.xyz": QuotaUsage(used_kb=9216 * 1024, limit_kb=10240 * 1024)})
    client.force_login(owner)
    listing = client.get("/mail/addresses/").content.decode()
    assert "9216 of 10240 MB" in listing
    assert 'value="90"' in listing  # the bar
    assert "2048 MB (use not reported yet)" in listing
    detail = client.get(f"/mail/addresses/{alice.pk}/").content.decode()
    assert "9216 of 10240 MB" in detail and "Reported on" in detail
    service = client.get(f"/mail/services/{premium.pk}/").content.decode()
    assert "9216 MB used; 12288 of 102400 MB allocated to addresses" in service
    assert "20 GB per address" in service  # the plan table

    assert client.post("/i18n/setlang/", {"language": "fr", "next": "/"}).status_code == 302
    listing = client.get("/mail/addresses/").content.decode()
    assert "9216 sur 10240 Mo" in listing

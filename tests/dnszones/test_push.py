"""The zone push through the outbox: the desired state, the prerequisite of the last push,
the repair of drift (audited), removal, no DNS server configured, and the reconcile."""
import pytest

from dnszones import push, services
from dnszones.backends.base import DnsBackendError, RRset, ZoneState
from dnszones.desired import desired_state
from dnszones.models import PUSH_KIND
from manager.audit.models import AuditEntry
from manager.core import outbox
from manager.core.models import PushJob
from tests.factories import make_domain, make_record

pytestmark = pytest.mark.django_db


def run_push(name):
    job = PushJob.objects.get(kind=PUSH_KIND, target_id=name)
    return outbox.run(job.pk), PushJob.objects.get(pk=job.pk)


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    monkeypatch.setattr(outbox, "send", lambda job, countdown=None: None)


def test_the_desired_state_holds_the_records_and_the_platforms_apex_ns(owner, zone, settings,
                                                                       django_assert_num_queries):
    settings.DNS_NAMESERVERS = ["NS1.example.net", "ns2.example.net."]
    make_record(owner, zone, "www", "A", "192.0.2.2", ttl=300)
    make_record(owner, zone, "www", "A", "192.0.2.1", ttl=300)
    make_record(owner, zone, "@", "MX", "10 mx1.example.net.")
    with django_assert_num_queries(1):
        state = desired_state(zone)
    assert state == ZoneState(zone="example.org.", default_ttl=3600, rrsets=(
        RRset("example.org.", "MX", 3600, ("10 mx1.example.net.",)),
        RRset("example.org.", "NS", 3600, ("ns1.example.net.", "ns2.example.net.")),
        RRset("www.example.org.", "A", 300, ("192.0.2.1", "192.0.2.2")),
    ))


def test_a_push_creates_the_zone_then_updates_it_from_what_it_left(owner, zone, dns_server):
    make_record(owner, zone, "www", "A", "192.0.2.1")
    assert run_push("example.org")[0] == "done"
    first = dns_server.served["example.org."]
    assert RRset("www.example.org.", "A", 3600, ("192.0.2.1",)) in first.rrsets
    assert dns_server.applied[-1][1] is None  # a new zone: nothing expected yet
    make_record(owner, zone, "mail", "A", "192.0.2.2")
    result, job = run_push("example.org")
    assert result == "done" and job.sync_status == "applied" and job.last_applied_at
    assert dns_server.applied[-1][1] == first  # the prerequisite: what the last push left
    zone.refresh_from_db()
    assert zone.applied_state["rrsets"][-1][0] == "www.example.org."


def test_an_out_of_band_edit_is_replaced_and_audited(owner, zone, dns_server):
    make_record(owner, zone, "www", "A", "192.0.2.1")
    run_push("example.org")
    served = dns_server.served["example.org."]
    dns_server.served["example.org."] = ZoneState(zone=served.zone, rrsets=served.rrsets + (
        RRset("evil.example.org.", "A", 60, ("203.0.113.66",)),))
    make_record(owner, zone, "mail", "A", "192.0.2.2")
    assert run_push("example.org")[0] == "done"
    names = {r.name for r in dns_server.served["example.org."].rrsets}
    assert "evil.example.org." not in names and "mail.example.org." in names
    entry = AuditEntry.objects.get(verb="dns_zone.drift_repaired")
    assert entry.organisation_id == zone.organisation_id
    assert "- evil.example.org. 60 A 203.0.113.66" in entry.changes["differences"][1]


def test_a_deleted_domain_and_an_external_one_are_removed_from_the_server(owner, organisation,
                                                                          zone, dns_server):
    run_push("example.org")
    other = make_domain(owner, organisation, "other.example")
    run_push("other.example")
    assert set(dns_server.served) == {"example.org.", "other.example."}
    services.domain_delete(actor=owner, domain=zone)
    assert run_push("example.org")[0] == "done"
    services.domain_update(actor=owner, domain=other, uses_our_dns=False)
    assert run_push("other.example")[0] == "done"
    assert dns_server.served == {}
    other.refresh_from_db()
    assert other.applied_state is None


def test_with_no_dns_server_configured_the_push_fails_and_says_so(owner, zone, settings):
    settings.DNS_BACKEND_CONFIG = ""
    push.forget_hosts()
    result, job = run_push("example.org")
    assert result == "failed" and job.sync_status == "failed"
    assert "No DNS server is configured" in job.last_error


def test_a_transient_server_error_is_retried(owner, zone, dns_server):
    dns_server.fail = DnsBackendError("connection refused")
    result, job = run_push("example.org")
    assert result == "retry" and job.attempts == 1 and "refused" in job.last_error
    dns_server.fail = None
    job.next_attempt_at = None
    job.save()
    assert run_push("example.org")[0] == "done"


def test_the_zone_of_a_host_goes_on_that_hosts_queue(owner, organisation):
    make_domain(owner, organisation, "far.example", dns_host="paris")
    assert PushJob.objects.get(target_id="far.example").queue == "dns-paris"


def test_reconcile_repairs_drift_and_audits_it(owner, zone, dns_server):
    make_record(owner, zone, "www", "A", "192.0.2.1")
    run_push("example.org")
    assert push.reconcile() == {}
    dns_server.served["example.org."] = ZoneState(zone="example.org.", rrsets=())
    found = push.reconcile()
    assert "example.org" in found
    assert dns_server.served["example.org."].rrsets == desired_state(zone).rrsets
    assert AuditEntry.objects.filter(verb="dns_zone.drift_repaired",
                                     changes__differences__isnull=False).count() == 1
    assert push.reconcile() == {}


def test_reconcile_leaves_a_zone_whose_push_is_on_the_way(owner, zone, dns_server):
    run_push("example.org")
    dns_server.served.clear()
    make_record(owner, zone, "www", "A", "192.0.2.1")  # its push is pending
    assert push.reconcile() == {}


def test_reconcile_queues_the_removal_of_a_zone_no_longer_ours(owner, organisation, dns_server):
    gone = make_domain(owner, organisation, "gone.example")
    run_push("gone.example")
    gone.delete()  # behind the services' back: the removal push never happened
    dns_server.served["unmanaged.example."] = ZoneState(zone="unmanaged.example.")
    found = push.reconcile()
    assert list(found) == ["gone.example"]
    assert run_push("gone.example")[0] == "done"
    assert list(dns_server.served) == ["unmanaged.example."]

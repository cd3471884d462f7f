"""Zones pushed by the product to a real Knot: records written through the API are served;
a record changed out of band is restored by the reconcile (audited); a deleted domain's
zone is no longer served. The push goes through the outbox exactly as in production (the
job run in this process instead of a worker; the worker's part is tests/e2e/test_pipeline)."""
import json

import dns.message
import dns.query
import dns.rcode
import dns.update
import pytest

from dnszones import push
from dnszones.models import PUSH_KIND, Domain
from manager.audit.models import AuditEntry
from manager.core import outbox
from manager.core.models import PushJob

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


@pytest.fixture
def served_by_knot(knot, tmp_path, settings, monkeypatch):
    config = tmp_path / "dns.json"
    config.write_text(json.dumps(knot.to_json()))
    settings.DNS_BACKEND_CONFIG = str(config)
    settings.DNS_NAMESERVERS = ["ns1.example.net.", "ns2.example.net."]
    push.forget_hosts()
    monkeypatch.setattr(outbox, "send", lambda job, countdown=None: None)  # run below
    yield knot
    push.forget_hosts()


def run_push(name):
    job = PushJob.objects.get(kind=PUSH_KIND, target_id=name)
    assert outbox.run(job.pk) == "done", PushJob.objects.get(pk=job.pk).sync_error


def ask(knot, name, rtype):
    query = dns.message.make_query(name, rtype)
    return dns.query.tcp(query, knot.host, port=knot.port, timeout=5)


def answer(knot, name, rtype) -> set[str]:
    response = ask(knot, name, rtype)
    return {rd.to_text() for rrset in response.answer for rd in rrset}


def test_dns_records_written_through_the_api_are_served_and_repaired(api, owner, organisation,
                                                                     served_by_knot):
    knot, client = served_by_knot, api(owner)
    created = client.post("/api/v1/domains/", {"organisation": organisation.pk,
                                               "name": "pipeline-dns.test", "uses_our_dns": True},
                          format="json")
    assert created.status_code == 201, created.content
    domain = created.json()["id"]
    records = f"/api/v1/domains/{domain}/records/"
    for body in ({"name": "www", "type": "A", "ttl": 300, "value": "192.0.2.10"},
                 {"name": "@", "type": "MX", "ttl": 3600, "value": "10 MX1.Example.NET."},
                 {"name": "@", "type": "TXT", "ttl": 3600, "value": '"v=spf1 -all"'},
                 {"name": "long", "type": "TXT", "ttl": 3600, "value": "x" * 400}):
        response = client.post(records, body, format="json")
        assert response.status_code == 201, response.content
    run_push("pipeline-dns.test")
    assert answer(knot, "www.pipeline-dns.test.", "A") == {"192.0.2.10"}
    assert answer(knot, "pipeline-dns.test.", "MX") == {"10 mx1.example.net."}
    assert answer(knot, "pipeline-dns.test.", "NS") == {"ns1.example.net.", "ns2.example.net."}
    [long_txt] = ask(knot, "long.pipeline-dns.test.", "TXT").answer[0]
    assert b"".join(long_txt.strings) == b"x" * 400 and len(long_txt.strings) == 2
    # What Knot serves and what the database says compare equal: no drift, nothing to repair.
    assert push.reconcile() == {}
    assert client.get(f"/api/v1/domains/{domain}/").json()["sync_status"] == "applied"

    # An edit behind the product's back, then the reconcile.
    update = dns.update.UpdateMessage("pipeline-dns.test.", keyring=knot.tsig)
    update.replace("www", 300, "A", "203.0.113.66")
    update.add("intruder", 300, "A", "203.0.113.67")
    assert dns.query.tcp(update, knot.host, port=knot.port, timeout=5).rcode() == dns.rcode.NOERROR
    assert answer(knot, "www.pipeline-dns.test.", "A") == {"203.0.113.66"}
    repaired = push.reconcile()
    assert list(repaired) == ["pipeline-dns.test"]
    assert answer(knot, "www.pipeline-dns.test.", "A") == {"192.0.2.10"}
    assert ask(knot, "intruder.pipeline-dns.test.", "A").rcode() == dns.rcode.NXDOMAIN
    entry = AuditEntry.objects.get(verb="dns_zone.drift_repaired")
    assert "203.0.113.67" in json.dumps(entry.changes)

    # A change after the repair is a normal update again (its prerequisite holds).
    response = client.post(records, {"name": "new", "type": "AAAA", "value": "2001:db8::1"},
                           format="json")
    assert response.status_code == 201, response.content
    run_push("pipeline-dns.test")
    assert answer(knot, "new.pipeline-dns.test.", "AAAA") == {"2001:db8::1"}

    # Deleting the domain removes its zone from Knot.
    assert client.delete(f"/api/v1/domains/{domain}/").status_code == 204
    assert not Domain.objects.filter(name="pipeline-dns.test").exists()
    run_push("pipeline-dns.test")
    assert ask(knot, "www.pipeline-dns.test.", "A").rcode() in (dns.rcode.REFUSED, dns.rcode.NOTAUTH)
    assert "pipeline-dns.test." not in knot.backend().zones()


def test_dns_soa_names_the_zones_own_hostmaster(api, owner, organisation, served_by_knot):
    """The SOA Knot serves and the exported zone file name the same contact."""
    knot, client = served_by_knot, api(owner)
    domain = client.post("/api/v1/domains/", {"organisation": organisation.pk,
                                              "name": "soa-dns.test"}, format="json").json()["id"]
    run_push("soa-dns.test")
    [soa] = ask(knot, "soa-dns.test.", "SOA").answer[0]
    assert soa.rname.to_text() == "hostmaster.soa-dns.test."
    exported = client.get(f"/api/v1/domains/{domain}/zone-file/").content.decode()
    assert "hostmaster.soa-dns.test." in exported

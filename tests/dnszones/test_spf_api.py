"""`domains/{id}/spf/`: the report of the published record through DNS_RESOLVER (a private
server here), and the qualifier switch, merge and flattening — previewed with `dry_run`,
applied through the record service (audited, pushed), refused with a code when they must
be; and the periodic re-flattening when a provider's addresses change."""
import pytest

from dnszones import tasks
from dnszones.models import PUSH_KIND, SpfFlattening
from manager.audit.models import AuditEntry
from manager.core.models import PushJob
from tests.factories import make_record

from .spf_zones import serve

pytestmark = pytest.mark.django_db

# Four providers under example.org (the one origin the tiny server serves): p1, p2 and p3
# cost 4 lookups each, p4 one; the apex record below needs 13.
PROVIDERS = {
    "_spf.p1.example.org": {"TXT": ["v=spf1 include:_a.p1.example.org include:_b.p1.example.org "
                                    "a:out.p1.example.org -all"]},
    "_a.p1.example.org": {"TXT": ["v=spf1 ip4:192.0.2.0/26 ~all"]},
    "_b.p1.example.org": {"TXT": ["v=spf1 ip4:192.0.2.64/26 ip6:2001:db8:1::/48 -all"]},
    "out.p1.example.org": {"A": ["198.51.100.1"], "AAAA": ["2001:db8:1::1"]},
    "_spf.p2.example.org": {"TXT": ["v=spf1 include:_a.p2.example.org -all"]},
    "_a.p2.example.org": {"TXT": ["v=spf1 include:_b.p2.example.org -all"]},
    "_b.p2.example.org": {"TXT": ["v=spf1 include:_c.p2.example.org -all"]},
    "_c.p2.example.org": {"TXT": ["v=spf1 ip4:203.0.113.0/25 -all"]},
    "_spf.p3.example.org": {"TXT": ["v=spf1 include:_a.p3.example.org include:_b.p3.example.org "
                                    "include:_c.p3.example.org -all"]},
    "_a.p3.example.org": {"TXT": ["v=spf1 ip4:100.64.0.0/24 -all"]},
    "_b.p3.example.org": {"TXT": ["v=spf1 ip4:100.64.1.0/24 -all"]},
    "_c.p3.example.org": {"TXT": ["v=spf1 ip4:100.64.2.0/24 -all"]},
    "_spf.p4.example.org": {"TXT": ["v=spf1 ip4:198.18.0.0/24 -all"]},
}
OVER = ("v=spf1 include:_spf.p1.example.org include:_spf.p2.example.org "
        "include:_spf.p3.example.org include:_spf.p4.example.org ~all")


@pytest.fixture
def dns(settings):
    servers = []

    def publish(apex_records, **more):
        zones = {**PROVIDERS, **more, "example.org": {"TXT": list(apex_records)}}
        server = serve(zones, "example.org")
        servers.append(server)
        settings.DNS_RESOLVER, settings.DNS_RESOLVER_TIMEOUT = server.address, 2
        return server

    yield publish
    for server in servers:
        server.close()


def spf_url(zone):
    return f"/api/v1/domains/{zone.pk}/spf/"


def test_the_report_gives_the_real_total_the_tree_and_the_codes(api, owner, zone, dns):
    dns([OVER, "v=spf1 ip4:192.0.2.1 -all"])
    body = api(owner).get(spf_url(zone)).json()
    assert (body["lookups"], body["records_found"], body["void_lookups"]) == (13, 2, 0)
    assert [e["code"] for e in body["errors"]] == ["too_many_lookups", "several_records"]
    # The first record (in text order) is the one analysed.
    assert body["record"] == "v=spf1 include:_spf.p1.example.org include:_spf.p2.example.org " \
        "include:_spf.p3.example.org include:_spf.p4.example.org ~all"


def test_the_tree_counts_each_include(api, owner, zone, dns):
    dns([OVER])
    body = api(owner).get(spf_url(zone)).json()
    assert body["lookups"] == 13 and body["limit"] == 10 and body["records_found"] == 1
    children = {c["term"]: (c["lookups"], c["subtotal"]) for c in body["tree"]["children"]}
    assert children == {"include:_spf.p1.example.org": (3, 3), "include:_spf.p2.example.org": (1, 3),
                        "include:_spf.p3.example.org": (3, 3), "include:_spf.p4.example.org": (0, 0)}
    first = body["tree"]["terms"][0]
    assert first["lookup"] is True and "_spf.p1.example.org" in first["explanation"]


def test_an_outsider_gets_404_and_the_french_report_is_french(api, owner, outsider, zone, dns):
    dns(["v=spf1 ptr +all"])
    assert api(outsider).get(spf_url(zone)).status_code == 404
    client = api(owner)
    body = client.get(spf_url(zone), HTTP_ACCEPT_LANGUAGE="fr").json()
    assert body["errors"][0]["code"] == "pass_all"
    assert "tous les serveurs" in body["errors"][0]["message"]


def test_the_qualifier_switch_previews_then_applies_through_the_record_service(
        api, owner, zone, dns):
    dns(["v=spf1 include:_spf.p4.example.org -all"])
    record = make_record(owner, zone, "@", "TXT", "v=spf1 include:_spf.p4.example.org -all")
    client = api(owner)
    preview = client.post(spf_url(zone), {"action": "qualifier", "qualifier": "~all",
                                          "dry_run": True}, format="json")
    assert preview.status_code == 200, preview.content
    body = preview.json()
    assert body["applied"] is False and body["after"] == "v=spf1 include:_spf.p4.example.org ~all"
    assert body["changes"] == [{"operation": "update", "name": "@", "type": "TXT",
                                "before": "v=spf1 include:_spf.p4.example.org -all",
                                "after": "v=spf1 include:_spf.p4.example.org ~all"}]
    assert (body["lookups_before"], body["lookups_after"]) == (1, 1)
    record.refresh_from_db()
    assert record.shown_value.endswith(" -all")
    applied = client.post(spf_url(zone), {"action": "qualifier", "qualifier": "~all"}, format="json")
    assert applied.json()["applied"] is True
    record.refresh_from_db()
    assert record.shown_value == "v=spf1 include:_spf.p4.example.org ~all"
    assert AuditEntry.objects.filter(verb="spf.qualifier").count() == 1
    assert AuditEntry.objects.filter(object_type="dnszones.record", action="update").exists()
    assert PushJob.objects.filter(kind=PUSH_KIND, target_id="example.org").exists()


def test_actions_are_refused_with_their_codes(api, owner, admin, member, zone, dns):
    dns([])
    client = api(owner)
    no_record = client.post(spf_url(zone), {"action": "qualifier", "qualifier": "-all"}, format="json")
    assert no_record.status_code == 400 and no_record.json()["error"]["code"] == "no_spf_record"
    missing = client.post(spf_url(zone), {"action": "qualifier"}, format="json")
    assert missing.status_code == 400 and "qualifier" in missing.json()["error"]["fields"]
    make_record(owner, zone, "@", "TXT", "v=spf1 mx -all")
    open_all = client.post(spf_url(zone), {"action": "merge", "records": ["v=spf1 a +all"]},
                           format="json")
    assert open_all.status_code == 400 and open_all.json()["error"]["code"] == "pass_all"
    within = client.post(spf_url(zone), {"action": "flatten"}, format="json")
    assert within.status_code == 400 and within.json()["error"]["code"] == "within_limit"
    assert api(member).post(spf_url(zone), {"action": "flatten"}, format="json").status_code == 404
    assert api(admin).post(spf_url(zone), {"action": "qualifier", "qualifier": "?all",
                                           "dry_run": True}, format="json").status_code == 200


def test_a_second_spf_record_is_refused_with_the_guides_reason(api, owner, zone):
    make_record(owner, zone, "@", "TXT", "v=spf1 include:spf.example.net -all")
    response = api(owner).post(f"/api/v1/domains/{zone.pk}/records/",
                               {"type": "TXT", "value": "v=spf1 include:other.example -all"},
                               format="json", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 400
    assert "plusieurs enregistrements SPF" in response.json()["error"]["message"]


def test_merge_makes_one_record_of_the_zones_and_the_providers(api, owner, zone, dns):
    dns([])
    make_record(owner, zone, "@", "TXT", "v=spf1 include:_spf.p4.example.org -all")
    # A second SPF record that an imported zone file left (the record service refuses it).
    zone.records.create(name="@", type="TXT", value='"v=spf1 ip4:192.0.2.9 ~all"')
    client = api(owner)
    body = client.post(spf_url(zone), {"action": "merge", "dry_run": True, "records": [
        "v=spf1 include:_spf.p2.example.org ?all exp=why.example.org"]}, format="json").json()
    assert body["after"] == ("v=spf1 ip4:192.0.2.9 include:_spf.p4.example.org "
                             "include:_spf.p2.example.org -all")
    assert [c["operation"] for c in body["changes"]] == ["delete", "update"]
    assert [w["code"] for w in body["warnings"]] == ["exp_dropped"]
    client.post(spf_url(zone), {"action": "merge", "records": [
        "v=spf1 include:_spf.p2.example.org ?all"]}, format="json")
    assert [r.shown_value for r in zone.records.filter(type="TXT")] == [body["after"]]


def test_flattening_publishes_the_derived_record_and_keeps_the_source(api, owner, zone, dns):
    dns([OVER])
    record = make_record(owner, zone, "@", "TXT", OVER)
    client = api(owner)
    preview = client.post(spf_url(zone), {"action": "flatten", "dry_run": True}, format="json").json()
    assert (preview["lookups_before"], preview["lookups_after"]) == (13, 9)
    assert preview["inlined"] == ["include:_spf.p1.example.org"] and preview["source"] == OVER
    assert not SpfFlattening.objects.exists()
    applied = client.post(spf_url(zone), {"action": "flatten"}, format="json").json()
    assert applied["applied"] is True
    record.refresh_from_db()
    flattening = SpfFlattening.objects.get(domain=zone)
    assert record.shown_value == flattening.flattened == preview["after"]
    assert flattening.source == OVER and flattening.lookups_source == 13
    assert "ip4:192.0.2.0/25" in record.shown_value  # the two /26 of p1, collapsed

    # A qualifier switch changes the source; the published record is derived again.
    switched = client.post(spf_url(zone), {"action": "qualifier", "qualifier": "-all"},
                           format="json").json()
    assert switched["source"] == OVER.replace("~all", "-all") and switched["after"].endswith("-all")
    flattening.refresh_from_db()
    assert flattening.source.endswith("-all")
    report = client.get(spf_url(zone)).json()
    assert report["flattening"]["source"] == flattening.source

    # Off again: the includes are published.
    off = client.post(spf_url(zone), {"action": "flatten", "enabled": False}, format="json").json()
    assert off["after"] == OVER.replace("~all", "-all")
    record.refresh_from_db()
    assert record.shown_value == off["after"] and not SpfFlattening.objects.exists()


def test_a_providers_new_addresses_are_flattened_again_by_the_periodic_task(api, owner, zone, dns):
    dns([OVER])
    record = make_record(owner, zone, "@", "TXT", OVER)
    api(owner).post(spf_url(zone), {"action": "flatten"}, format="json")
    assert tasks.reflatten_spf_records() == {"example.org": "unchanged"}
    moved = {**PROVIDERS["_a.p1.example.org"]}
    moved["TXT"] = ["v=spf1 ip4:192.0.2.0/26 ip4:198.51.100.128/28 ~all"]
    dns([OVER], **{"_a.p1.example.org": moved})
    assert tasks.reflatten_spf_records() == {"example.org": "changed"}
    record.refresh_from_db()
    assert "ip4:198.51.100.128/28" in record.shown_value
    entry = AuditEntry.objects.get(verb="spf.reflattened")
    assert entry.actor is None and "198.51.100.128/28" in str(entry.changes)

    # Edited by hand: the edit wins, flattening stops (audited).
    from dnszones import services

    services.record_update(actor=owner, record=record, value="v=spf1 -all")
    assert tasks.reflatten_spf_records() == {"example.org": "stopped"}
    assert not SpfFlattening.objects.exists()
    assert AuditEntry.objects.filter(verb="spf.flatten_stopped").count() == 1


def test_a_lookup_failure_leaves_the_flattened_record_alone(api, owner, zone, dns, settings):
    import socket

    dns([OVER])
    make_record(owner, zone, "@", "TXT", OVER)
    api(owner).post(spf_url(zone), {"action": "flatten"}, format="json")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        settings.DNS_RESOLVER = f"127.0.0.1:{silent.getsockname()[1]}"
        settings.DNS_RESOLVER_TIMEOUT = 0.2
        assert tasks.reflatten_spf_records() == {"example.org": "skipped"}


def test_a_long_flattened_record_is_stored_as_255_byte_strings(api, owner, zone, dns):
    from dns import rdata

    chain = {f"_w{i}.wide.example.org": {"TXT": [f"v=spf1 include:_w{i + 1}.wide.example.org -all"]}
             for i in range(5)}
    chain["_w5.wide.example.org"] = {"TXT": ["v=spf1 " + " ".join(
        f"ip4:198.51.{i}.{2 * i + 1}" for i in range(30)) + " -all"]}
    apex = OVER.replace(" ~all", " include:_w0.wide.example.org ~all")
    dns([apex], **chain)
    record = make_record(owner, zone, "@", "TXT", apex)
    change = api(owner).post(spf_url(zone), {"action": "flatten"}, format="json").json()
    assert change["inlined"] == ["include:_spf.p1.example.org", "include:_w0.wide.example.org"]
    assert (change["lookups_before"], change["lookups_after"]) == (19, 9)
    record.refresh_from_db()
    strings = rdata.from_text("IN", "TXT", record.value).strings
    assert len(strings) >= 2 and all(len(s) <= 255 for s in strings)
    assert b"".join(strings).decode() == change["after"] and len(change["after"]) > 255


def test_the_reflattening_runs_periodically(settings):
    from manager.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["reflatten-spf-records"]
    assert entry["task"] in app.tasks and entry["schedule"] > 0

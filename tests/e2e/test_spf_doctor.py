"""The SPF doctor against a real Knot: every golden case's zones (tests/dnszones/spf_golden/)
are served by the test Knot — providers in zones of their own, like `_spf.spf-pa.test` in
spf-pa.test — and `GET domains/{id}/spf/`, with DNS_RESOLVER pointed at Knot, reports each
exactly as the golden file says (9, 10, 11 and 15 lookups, two SPF records, 3 void
lookups, a loop, a missing include, bad syntax, …). Then a record over the limit is
flattened and another merged through the product (pushed to Knot by the outbox), and
pyspf — asking the same Knot — evaluates the published results like the originals for
every address block of the records and random others."""
import json
from collections import defaultdict
from pathlib import Path

import pytest

from dnszones import push
from dnszones.backends.base import ZoneState
from dnszones.backends.canonical import rrset
from dnszones.models import PUSH_KIND
from manager.core import outbox
from manager.core.models import PushJob
from tests.dnszones.spf_oracle import evaluate, limits_lifted, sample_ips, through_server
from tests.factories import make_domain

pytestmark = [pytest.mark.e2e, pytest.mark.django_db,
              # pyspf's own dnspython driver calls the deprecated dns.resolver.query()
              pytest.mark.filterwarnings("ignore:please use dns.resolver.resolve:DeprecationWarning")]

GOLDEN = Path(__file__).resolve().parents[1] / "dnszones" / "spf_golden"
CASES = sorted(p.stem for p in GOLDEN.glob("*.json") if not p.stem.endswith(".expected"))
NS = ["ns1.example.net.", "ns2.example.net."]


def presentation(rtype: str, value: str) -> str:
    if rtype in ("TXT", "SPF"):  # 255-byte strings, as the record service writes them
        return " ".join('"' + value[i:i + 255] + '"' for i in range(0, len(value), 255) or [0])
    return value


def zones_of(names: dict) -> dict[str, dict]:
    """Every name's records grouped by zone (its last two labels: spf-pa.test.)."""
    zones = defaultdict(dict)
    for name, types in names.items():
        zone = ".".join(name.rstrip(".").split(".")[-2:]) + "."
        zones[zone][name.rstrip(".") + "."] = types
    return zones


def serve(knot, names: dict) -> None:
    backend = knot.backend()
    for zone, owners in zones_of(names).items():
        rrsets = [rrset(zone, "@", "NS", 300, NS)]
        rrsets += [rrset(zone, owner, rtype, 300, [presentation(rtype, v) for v in values])
                   for owner, types in owners.items() for rtype, values in types.items() if values]
        backend.apply(ZoneState(zone, tuple(sorted(rrsets))), expected=None)


@pytest.fixture(scope="module")
def golden_zones(knot):
    names = {}
    for case in CASES:
        for name, types in json.loads((GOLDEN / f"{case}.json").read_text())["zones"].items():
            assert names.setdefault(name, types) == types, f"{name} differs between cases"
    serve(knot, names)
    return names


@pytest.fixture
def resolver_at_knot(knot, settings):
    settings.DNS_RESOLVER, settings.DNS_RESOLVER_TIMEOUT = f"{knot.host}:{knot.port}", 3
    return knot


@pytest.mark.parametrize("case", CASES)
def test_spf_report_from_knot_matches_the_golden_file(case, api, owner, organisation,
                                                     golden_zones, resolver_at_knot):
    data = json.loads((GOLDEN / f"{case}.json").read_text())
    expected = json.loads((GOLDEN / f"{case}.expected.json").read_text())
    domain = make_domain(owner, organisation, data["domain"], uses_our_dns=False)
    response = api(owner).get(f"/api/v1/domains/{domain.pk}/spf/")
    assert response.status_code == 200, response.content
    body = response.json()
    for key in ("record", "lookups", "void_lookups", "records_found", "errors", "warnings", "tree"):
        assert body[key] == expected[key], (case, key)


def test_spf_known_totals_are_reported_from_knot(api, owner, organisation, golden_zones,
                                                resolver_at_knot):
    totals = {}
    for case in ("nested_9", "nested_10", "nested_11", "nested_15", "void_3", "loop",
                 "missing_include", "two_records", "bad_syntax"):
        name = json.loads((GOLDEN / f"{case}.json").read_text())["domain"]
        domain = make_domain(owner, organisation, name, uses_our_dns=False)
        body = api(owner).get(f"/api/v1/domains/{domain.pk}/spf/").json()
        totals[case] = (body["lookups"], body["void_lookups"], body["records_found"],
                        sorted({e["code"] for e in body["errors"]}))
    assert totals == {
        "nested_9": (9, 0, 1, []), "nested_10": (10, 0, 1, []),
        "nested_11": (11, 0, 1, ["too_many_lookups"]),
        "nested_15": (15, 0, 1, ["too_many_lookups"]),
        "void_3": (4, 3, 1, ["too_many_void_lookups"]), "loop": (3, 0, 1, ["include_loop"]),
        "missing_include": (3, 1, 1, ["include_missing"]),
        "two_records": (1, 0, 2, ["several_records"]), "bad_syntax": (1, 0, 1, ["syntax_error"]),
    }


# --- flattening and merging through the product ---------------------------------------------

@pytest.fixture
def our_dns(knot, tmp_path, settings, monkeypatch, resolver_at_knot):
    """Zones of our domains pushed to the same Knot by the outbox (run in this process)."""
    config = tmp_path / "dns.json"
    config.write_text(json.dumps(knot.to_json()))
    settings.DNS_BACKEND_CONFIG = str(config)
    settings.DNS_NAMESERVERS = NS
    push.forget_hosts()
    monkeypatch.setattr(outbox, "send", lambda job, countdown=None: None)
    yield knot
    push.forget_hosts()


def run_push(name):
    job = PushJob.objects.get(kind=PUSH_KIND, target_id=name)
    assert outbox.run(job.pk) == "done", PushJob.objects.get(pk=job.pk).sync_error


def results(knot, domain: str, ips, *, lifted=False) -> dict[str, str]:
    with through_server(knot.host, knot.port):
        if lifted:
            with limits_lifted():
                return {ip: evaluate(ip, domain) for ip in ips}
        return {ip: evaluate(ip, domain) for ip in ips}


def test_spf_flattened_record_served_by_knot_evaluates_like_the_original(
        api, owner, organisation, golden_zones, our_dns):
    knot, client = our_dns, api(owner)
    domain = make_domain(owner, organisation, "spf-flat.test")
    original = ("v=spf1 a mx include:_spf.spf-pa.test include:_spf.spf-pb.test "
                "include:_spf.spf-pd.test include:_spf.spf-pc.test -all")
    records = f"/api/v1/domains/{domain.pk}/records/"
    for body in ({"type": "TXT", "value": original}, {"type": "A", "value": "192.0.2.77"},
                 {"type": "AAAA", "value": "2001:db8:77::1"},
                 {"type": "MX", "value": "10 mail.spf-flat.test."},
                 {"name": "mail", "type": "A", "value": "192.0.2.78"},
                 {"name": "mail", "type": "AAAA", "value": "2001:db8:77::25"}):
        assert client.post(records, body, format="json").status_code == 201
    run_push("spf-flat.test")
    spf = f"/api/v1/domains/{domain.pk}/spf/"
    assert client.get(spf).json()["lookups"] == 15

    ips = sample_ips([original, *(v for z in golden_zones.values() for v in z.get("TXT", []))])
    ips = sorted({*ips, "192.0.2.77", "192.0.2.78", "2001:db8:77::25", "100.64.2.1"})
    before = results(knot, "spf-flat.test", ips, lifted=True)
    assert results(knot, "spf-flat.test", ips[:3]) == dict.fromkeys(ips[:3], "permerror")

    preview = client.post(spf, {"action": "flatten", "dry_run": True}, format="json").json()
    assert (preview["lookups_before"], preview["lookups_after"], preview["applied"]) == (15, 7, False)
    applied = client.post(spf, {"action": "flatten"}, format="json").json()
    assert applied["applied"] is True and applied["after"] == preview["after"]
    run_push("spf-flat.test")
    report = client.get(spf).json()
    assert report["record"] == applied["after"] and report["lookups"] == 7
    assert report["errors"] == [] and report["flattening"]["source"] == original

    after = results(knot, "spf-flat.test", ips)  # with the real limits: it is within them
    assert {ip: (before[ip], after[ip]) for ip in ips if before[ip] != after[ip]} == {}
    assert sum(r == "pass" for r in after.values()) > 20 and "fail" in after.values()


def test_spf_merged_record_served_by_knot_passes_what_one_original_passes(
        api, owner, organisation, golden_zones, our_dns, knot):
    client = api(owner)
    zone_record = "v=spf1 include:_spf.spf-pc.test -all"
    others = ["v=spf1 include:_spf.spf-pa.test ~all",
              "v=spf1 ip4:192.0.2.250 include:_spf.spf-pd.test ?all"]
    # Each original published alone, to be evaluated as it would be.
    serve(knot, {f"o{i}.spf-orig.test": {"TXT": [text]}
                 for i, text in enumerate([zone_record, *others])})
    domain = make_domain(owner, organisation, "spf-merge.test")
    client.post(f"/api/v1/domains/{domain.pk}/records/", {"type": "TXT", "value": zone_record},
                format="json")
    run_push("spf-merge.test")
    spf = f"/api/v1/domains/{domain.pk}/spf/"
    merged = client.post(spf, {"action": "merge", "records": others}, format="json").json()
    assert merged["after"] == ("v=spf1 ip4:192.0.2.250 include:_spf.spf-pc.test "
                               "include:_spf.spf-pa.test include:_spf.spf-pd.test -all")
    assert (merged["lookups_before"], merged["lookups_after"]) == (1, 9)
    run_push("spf-merge.test")
    assert client.get(spf).json()["record"] == merged["after"]

    ips = sample_ips([*others, zone_record, *(v for z in golden_zones.values() for v in z.get("TXT", []))])
    originals = [results(knot, f"o{i}.spf-orig.test", ips) for i in range(3)]
    after = results(knot, "spf-merge.test", ips)
    for ip in ips:
        passes = any(r[ip] == "pass" for r in originals)
        assert after[ip] == ("pass" if passes else "fail"), ip
    assert sum(r == "pass" for r in after.values()) > 10

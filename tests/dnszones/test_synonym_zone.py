"""The synonym's zone, a pure copy of the main zone (dnszones.zone.synonym), against a golden
file: owner names re-rooted, targets left at the main hosts, DKIM, `_acme-challenge` and
delegations left out, DMARC report addresses rewritten, our NS."""
from pathlib import Path

from dnszones.backends.base import RRset, ZoneState
from dnszones.zone.synonym import synonym_zone

GOLDEN = Path(__file__).parent / "golden" / "synonym.out.txt"

MAIN = ZoneState(zone="main.example.", soa_email="hostmaster", default_ttl=3600, rrsets=(
    RRset("main.example.", "A", 300, ("192.0.2.10",)),
    RRset("main.example.", "AAAA", 300, ("2001:db8::10",)),
    RRset("main.example.", "MX", 3600, ("10 mx1.main.example.", "20 mx.provider.example.")),
    RRset("main.example.", "NS", 3600, ("ns1.example.net.", "ns2.example.net.")),
    RRset("main.example.", "TXT", 3600, ('"v=spf1 include:spf.example.net -all"',)),
    RRset("main.example.", "CAA", 3600, ('0 issue "letsencrypt.org"',)),
    RRset("_dmarc.main.example.", "TXT", 3600, (
        '"v=DMARC1; p=reject; rua=mailto:dmarc@MAIN.example,mailto:r@reports.example; '
        'ruf=mailto:forensic@main.example"',)),
    RRset("mail._domainkey.main.example.", "TXT", 3600, ('"v=DKIM1; k=rsa; p=MIIB"',)),
    RRset("_acme-challenge.www.main.example.", "TXT", 60, ('"token"',)),
    RRset("_imaps._tcp.main.example.", "SRV", 3600, ("0 1 993 mail.main.example.",)),
    RRset("www.main.example.", "CNAME", 3600, ("main.example.",)),
    RRset("mx1.main.example.", "A", 3600, ("192.0.2.25",)),
    RRset("*.main.example.", "A", 3600, ("192.0.2.99",)),
    RRset("lab.main.example.", "NS", 3600, ("ns.lab.example.",)),
    RRset("other.example.", "A", 3600, ("192.0.2.1",)),  # not in the zone: ignored
))


def render(state: ZoneState) -> str:
    return "".join(f"{r.name} {r.ttl} {r.type} {' | '.join(r.values)}\n" for r in state.rrsets)


def test_the_synonym_zone_matches_the_golden_file():
    state = synonym_zone(MAIN, "syn.example", nameservers=["NS1.ours.example", "ns2.ours.example."],
                         soa_email="dns-admin")
    assert state.zone == "syn.example." and state.soa_email == "dns-admin"
    assert state.default_ttl == 3600
    assert render(state) == GOLDEN.read_text()


def test_every_owner_name_is_in_the_synonym_zone_and_targets_stay_at_the_main_hosts():
    state = synonym_zone(MAIN, "syn.example.")
    assert all(r.name == "syn.example." or r.name.endswith(".syn.example.") for r in state.rrsets)
    mx = next(r for r in state.rrsets if r.type == "MX")
    assert mx.values == MAIN.rrsets[2].values
    # no nameservers given: the main zone's apex NS, which are ours
    assert RRset("syn.example.", "NS", 3600, ("ns1.example.net.", "ns2.example.net.")) in state.rrsets


def test_an_empty_main_zone_gives_our_ns_only():
    state = synonym_zone(ZoneState(zone="main.example."), "syn.example", nameservers=["ns1.x."])
    assert state.rrsets == (RRset("syn.example.", "NS", 3600, ("ns1.x.",)),)


def test_a_dmarc_address_at_a_longer_domain_is_left_alone():
    main = ZoneState(zone="main.example.", rrsets=(
        RRset("_dmarc.main.example.", "TXT", 3600,
              ('"v=DMARC1; p=none; rua=mailto:a@main.example.net"',)),))
    state = synonym_zone(main, "syn.example")
    assert state.rrsets[0].values == ('"v=DMARC1; p=none; rua=mailto:a@main.example.net"',)

"""The Knot adapter against a real Knot, observed through DNS queries and zone transfers.

Each test works in a zone of its own on the session's private Knot.
"""

import uuid

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.update
import pytest

from dnszones.backends import knot as knot_module
from dnszones.backends.base import DnsBackendError, ZoneDrifted, ZoneState
from dnszones.backends.canonical import rrset
from dnszones.backends.knot import KnotBackend, KnotConfig

pytestmark = pytest.mark.e2e


def new_zone() -> str:
    return f"z{uuid.uuid4().hex[:10]}.test."


def with_ns(zone: str, *rrsets) -> ZoneState:
    ns = rrset(zone, "@", "NS", 3600, ["ns1.example.net.", "ns2.example.net."])
    return ZoneState(zone, tuple(sorted([ns, *rrsets])))


def ask(knot, name: str, rtype: str) -> dns.message.Message:
    return dns.query.udp(dns.message.make_query(name, rtype), knot.host, port=knot.port, timeout=5)


def served(knot, name: str, rtype: str) -> set[str]:
    reply = ask(knot, name, rtype)
    assert reply.rcode() == dns.rcode.NOERROR, dns.rcode.to_text(reply.rcode())
    return {rd.to_text() for answer in reply.answer if answer.rdtype == dns.rdatatype.from_text(rtype)
            for rd in answer}


def serial(knot, zone: str) -> int:
    return ask(knot, zone, "SOA").answer[0][0].serial


def send_out_of_band(knot, zone: str, edit) -> None:
    """An edit made by someone else with the same key (another tool, a person with knsupdate)."""
    message = dns.update.UpdateMessage(zone, keyring=knot.tsig)
    edit(message)
    reply = dns.query.tcp(message, knot.host, port=knot.port, timeout=5)
    assert reply.rcode() == dns.rcode.NOERROR


@pytest.fixture
def counted_updates(monkeypatch):
    """The UPDATE messages the adapter sends, each as dnspython parsed it back."""
    sent = []
    real = knot_module.exchange

    def exchange(host, port, wire, timeout):
        sent.append(dns.message.from_wire(wire, keyring=False))
        return real(host, port, wire, timeout)

    monkeypatch.setattr(knot_module, "exchange", exchange)
    return sent


def test_dns_zone_created_at_runtime_is_served_and_survives_a_knot_restart(knot):
    backend = knot.backend()
    zone = new_zone()
    state = with_ns(zone, rrset(zone, "www", "A", 300, ["192.0.2.10"]))
    backend.ensure_zone(state)
    reply = ask(knot, zone, "SOA")
    assert reply.rcode() == dns.rcode.NOERROR and reply.flags & dns.flags.AA
    assert reply.answer[0][0].rname.to_text() == f"hostmaster.{zone}"
    assert served(knot, zone, "NS") == {"ns1.example.net.", "ns2.example.net."}
    backend.apply(state, expected=with_ns(zone))
    backend.ensure_zone(state)  # again: nothing changes
    assert zone in backend.zones()
    before = serial(knot, zone)

    knot.restart()

    assert zone in backend.zones()
    assert served(knot, "www." + zone, "A") == {"192.0.2.10"}
    assert serial(knot, zone) == before
    assert backend.actual(zone).rrsets == state.rrsets


def test_dns_applied_records_are_served_as_pushed(knot):
    backend = knot.backend()
    zone = new_zone()
    empty = with_ns(zone)
    backend.ensure_zone(empty)
    long_spf = "v=spf1 " + " ".join(f"ip4:192.0.2.{i}" for i in range(1, 30)) + " -all"
    state = with_ns(
        zone,
        rrset(zone, "@", "MX", 3600, ["10 MX1.Example.NET.", "20 mx2.example.net."]),
        rrset(zone, "@", "TXT", 3600, ['"' + long_spf[:255] + '" "' + long_spf[255:] + '"']),
        rrset(zone, "www", "A", 300, ["192.0.2.1", "192.0.2.2"]),
        rrset(zone, "www", "AAAA", 300, ["2001:DB8::1"]),
        rrset(zone, "webmail", "CNAME", 300, ["www"]),
        rrset(zone, "_imaps._tcp", "SRV", 3600, ["0 1 993 imap.example.net."]),
        rrset(zone, "@", "CAA", 3600, ['0 issue "letsencrypt.org"']),
    )
    assert len(long_spf) > 255

    backend.apply(state, expected=empty)

    assert served(knot, zone, "MX") == {"10 mx1.example.net.", "20 mx2.example.net."}
    assert served(knot, "www." + zone, "A") == {"192.0.2.1", "192.0.2.2"}
    assert served(knot, "www." + zone, "AAAA") == {"2001:db8::1"}
    assert served(knot, "webmail." + zone, "CNAME") == {f"www.{zone}"}
    assert served(knot, "_imaps._tcp." + zone, "SRV") == {"0 1 993 imap.example.net."}
    txt = ask(knot, zone, "TXT").answer[0][0]
    assert b"".join(txt.strings).decode() == long_spf
    assert backend.actual(zone) == ZoneState(zone, state.rrsets, soa_email="hostmaster")


def test_dns_a_change_set_replaces_changed_rrsets_and_apex_ns_without_merging(knot):
    backend = knot.backend()
    zone = new_zone()
    first = with_ns(zone, rrset(zone, "www", "A", 300, ["192.0.2.1"]),
                    rrset(zone, "old", "TXT", 300, ['"bye"']))
    backend.ensure_zone(first)
    backend.apply(first, expected=with_ns(zone))
    # www turns into a CNAME (the A must go first), old goes, the apex NS are replaced
    # (Knot ignores deleting the whole apex NS set).
    second = ZoneState(zone, tuple(sorted([
        rrset(zone, "@", "NS", 7200, ["ns2.example.net.", "ns3.example.net."]),
        rrset(zone, "www", "CNAME", 300, ["@"]),
    ])))

    backend.apply(second, expected=first)

    assert backend.actual(zone).rrsets == second.rrsets
    assert served(knot, zone, "NS") == {"ns2.example.net.", "ns3.example.net."}
    assert served(knot, "www." + zone, "CNAME") == {zone}


def test_dns_a_change_set_of_1000_rrsets_is_one_update(knot, counted_updates):
    backend = knot.backend()
    zone = new_zone()
    empty = with_ns(zone)
    backend.ensure_zone(empty)
    records = [rrset(zone, f"host{i}", "A", 300, [f"10.0.{i // 250}.{i % 250 + 1}"])
               for i in range(1000)]
    state = with_ns(zone, *records)
    before = serial(knot, zone)

    backend.apply(state, expected=empty)

    assert len(counted_updates) == 1
    assert len(counted_updates[0].update) == 1000
    assert len(counted_updates[0].prerequisite) == 1000  # each new RRset must not exist yet
    assert serial(knot, zone) == before + 1  # one transaction on the server
    assert backend.actual(zone).rrsets == state.rrsets
    assert served(knot, f"host999.{zone}", "A") == {"10.0.3.250"}


def test_dns_a_bigger_change_set_is_cut_into_messages_that_all_apply(knot, counted_updates):
    backend = knot.backend()
    zone = new_zone()
    empty = with_ns(zone)
    backend.ensure_zone(empty)
    state = with_ns(zone, *[rrset(zone, f"h{i}", "TXT", 300, [f'"{i:04d}-' + "x" * 200 + '"'])
                            for i in range(1200)])

    backend.apply(state, expected=empty)

    assert len(counted_updates) > 1
    assert all(len(m.to_wire()) < 65_535 for m in counted_updates)
    assert sum(len(m.update) for m in counted_updates) == 1200
    assert backend.actual(zone).rrsets == state.rrsets


def test_dns_out_of_band_change_makes_apply_raise_zone_drifted_and_change_nothing(knot):
    backend = knot.backend()
    zone = new_zone()
    pushed = with_ns(zone, rrset(zone, "www", "A", 300, ["192.0.2.1"]))
    backend.ensure_zone(pushed)
    backend.apply(pushed, expected=with_ns(zone))
    send_out_of_band(knot, zone, lambda m: m.replace("www", 300, "A", "203.0.113.66"))
    wanted = with_ns(zone, rrset(zone, "www", "A", 300, ["192.0.2.2"]),
                     rrset(zone, "new", "A", 300, ["192.0.2.3"]))

    with pytest.raises(ZoneDrifted):
        backend.apply(wanted, expected=pushed)

    assert served(knot, "www." + zone, "A") == {"203.0.113.66"}
    assert ask(knot, "new." + zone, "A").rcode() == dns.rcode.NXDOMAIN

    backend.apply(wanted, expected=None)  # the reconcile: whatever is served is replaced

    assert backend.actual(zone).rrsets == wanted.rrsets
    assert served(knot, "www." + zone, "A") == {"192.0.2.2"}


def test_dns_a_record_added_out_of_band_where_a_push_adds_one_is_drift(knot):
    backend = knot.backend()
    zone = new_zone()
    pushed = with_ns(zone)
    backend.ensure_zone(pushed)
    send_out_of_band(knot, zone, lambda m: (m.add("mail", 300, "A", "203.0.113.7"),
                                            m.add("extra", 300, "TXT", '"by hand"')))
    wanted = with_ns(zone, rrset(zone, "mail", "A", 300, ["192.0.2.25"]))

    with pytest.raises(ZoneDrifted):
        backend.apply(wanted, expected=pushed)
    assert served(knot, "mail." + zone, "A") == {"203.0.113.7"}

    backend.apply(wanted, expected=None)
    assert backend.actual(zone).rrsets == wanted.rrsets  # the hand-made TXT is gone too


def test_dns_removed_zone_is_no_longer_served(knot):
    backend = knot.backend()
    zone = new_zone()
    state = with_ns(zone, rrset(zone, "www", "A", 300, ["192.0.2.1"]))
    backend.ensure_zone(state)
    backend.apply(state, expected=with_ns(zone))

    backend.remove_zone(zone)

    assert ask(knot, zone, "SOA").rcode() in (dns.rcode.REFUSED, dns.rcode.NOTAUTH)
    assert zone not in backend.zones()
    assert backend.actual(zone) is None
    backend.remove_zone(zone)  # again: nothing to do
    with pytest.raises(ZoneDrifted):  # the last push's zone is gone
        backend.apply(with_ns(zone), expected=state)
    # Created again it starts empty: nothing of the old contents came back.
    backend.ensure_zone(with_ns(zone))
    assert backend.actual(zone).rrsets == with_ns(zone).rrsets


def test_dns_a_wrong_tsig_key_is_a_permanent_error(knot):
    zone = new_zone()
    knot.backend().ensure_zone(with_ns(zone))
    config = knot.config()
    for wrong in (
        KnotConfig(**{**config.__dict__, "tsig_secret": "c2VjcmV0IG5vYm9keSBnYXZlIEtub3QhISEhISEhISE="}),
        KnotConfig(**{**config.__dict__, "tsig_name": "someone-else"}),
    ):
        backend = KnotBackend(wrong)
        with pytest.raises(DnsBackendError) as raised:
            backend.apply(with_ns(zone, rrset(zone, "x", "A", 60, ["192.0.2.9"])),
                          expected=with_ns(zone))
        assert raised.value.permanent and not isinstance(raised.value, ZoneDrifted)
        with pytest.raises(DnsBackendError) as raised:
            backend.actual(zone)
        assert raised.value.permanent
    assert ask(knot, "x." + zone, "A").rcode() == dns.rcode.NXDOMAIN


def test_dns_knot_not_answering_is_a_transient_error(knot):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    backend = KnotBackend(KnotConfig(**{**knot.config().__dict__, "port": port, "timeout": 2}))
    zone = new_zone()
    with pytest.raises(DnsBackendError) as raised:
        backend.apply(with_ns(zone, rrset(zone, "x", "A", 60, ["192.0.2.9"])),
                      expected=with_ns(zone))
    assert not raised.value.permanent
    with pytest.raises(DnsBackendError) as raised:
        backend.actual(zone)
    assert not raised.value.permanent

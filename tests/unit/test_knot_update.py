"""The UPDATE messages of a change-set: prerequisites, order, apex NS, chunking (no server)."""
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.tsig
import pytest

from dnszones.backends.base import ZoneState
from dnszones.backends.canonical import rrset
from dnszones.backends.knot_update import build_updates, changes

ZONE = "example.org."
KEY = dns.tsig.Key("push", "c2VjcmV0IGtleSBmb3IgdGhlIHVuaXQgdGVzdHMhISE=", dns.tsig.HMAC_SHA256)
NS = rrset(ZONE, "@", "NS", 3600, ["ns1.example.net.", "ns2.example.net."])


def messages(*args, **kwargs):
    return [update.message for update in build_updates(*args, **kwargs)]


def state(*rrsets):
    return ZoneState(ZONE, tuple(sorted(rrsets)))


def rows(section):
    """(owner, class, type, ttl, values) per RR set of a message section as it goes on the
    wire (consecutive RRs of one set joined; the class says delete: ANY = the RRset, NONE =
    these values, or in prerequisites: NONE = must not exist)."""
    found = []
    for r in section:
        rdclass = dns.rdataclass.to_text(r.deleting or r.rdclass)
        row = (r.name.to_text(), rdclass, dns.rdatatype.to_text(r.rdtype), r.ttl)
        if found and found[-1][:4] == row:
            found[-1][4].extend(rd.to_text() for rd in r)
        else:
            found.append((*row, [rd.to_text() for rd in r]))
    return [(*row[:4], sorted(row[4])) for row in found]


def test_removals_come_first_then_changes_then_additions():
    before = state(NS, rrset(ZONE, "www", "A", 300, ["192.0.2.1"]),
                   rrset(ZONE, "gone", "A", 300, ["192.0.2.9"]))
    after = state(NS, rrset(ZONE, "www", "A", 300, ["192.0.2.2"]),
                  rrset(ZONE, "gone", "CNAME", 300, ["www"]))
    planned = changes(after, before)
    assert [(c.name, c.type, c.before is not None, c.after is not None) for c in planned] == [
        ("gone.example.org.", "A", True, False),
        ("www.example.org.", "A", True, True),
        ("gone.example.org.", "CNAME", False, True),
    ]
    assert changes(after, after) == []


def test_changed_rrsets_require_their_exact_old_values_and_new_ones_their_absence():
    before = state(NS, rrset(ZONE, "www", "A", 300, ["192.0.2.1", "192.0.2.3"]))
    after = state(NS, rrset(ZONE, "www", "A", 600, ["192.0.2.2"]),
                  rrset(ZONE, "@", "MX", 3600, ["10 mx.example.net."]))
    [message] = messages(ZONE, changes(after, before), key=KEY)
    assert rows(message.prerequisite) == [
        # RFC 2136 §2.4.2: value dependent, TTL 0 (Knot answers FORMERR otherwise)
        ("www.example.org.", "IN", "A", 0, ["192.0.2.1", "192.0.2.3"]),
        ("example.org.", "NONE", "MX", 0, []),  # §2.4.3: RRset does not exist
    ]
    assert rows(message.update) == [
        ("www.example.org.", "ANY", "A", 0, []),  # delete the RRset, then write it whole
        ("www.example.org.", "IN", "A", 600, ["192.0.2.2"]),
        ("example.org.", "IN", "MX", 3600, ["10 mx.example.net."]),
    ]
    assert message.keyname == dns.name.from_text("push")


def test_without_expected_state_there_are_no_prerequisites():
    before = state(NS, rrset(ZONE, "www", "A", 300, ["192.0.2.1"]))
    after = state(NS)
    [message] = messages(ZONE, changes(after, before), key=KEY, prerequisites=False)
    assert rows(message.prerequisite) == []
    assert rows(message.update) == [("www.example.org.", "ANY", "A", 0, [])]


def test_apex_ns_are_added_before_the_old_ones_are_deleted_one_by_one():
    # Deleting the apex NS RRset, or its last NS, is ignored by the server.
    after = state(rrset(ZONE, "@", "NS", 7200, ["ns2.example.net.", "ns3.example.net."]))
    [message] = messages(ZONE, changes(after, state(NS)), key=KEY)
    assert rows(message.update) == [
        ("example.org.", "IN", "NS", 7200, ["ns2.example.net.", "ns3.example.net."]),
        ("example.org.", "NONE", "NS", 0, ["ns1.example.net."]),
    ]


def test_a_delegation_ns_below_the_apex_is_replaced_as_a_whole():
    before = state(NS, rrset(ZONE, "sub", "NS", 3600, ["ns.a.example."]))
    after = state(NS, rrset(ZONE, "sub", "NS", 3600, ["ns.b.example."]))
    [message] = messages(ZONE, changes(after, before), key=KEY)
    assert [r[1] for r in rows(message.update)] == ["ANY", "IN"]


def test_1000_rrsets_fit_one_message_and_more_are_cut_near_1000():
    many = [rrset(ZONE, f"host{i}", "A", 300, [f"10.0.{i // 250}.{i % 250 + 1}"])
            for i in range(2500)]
    assert len(messages(ZONE, changes(state(NS, *many[:1000]), state(NS)), key=KEY)) == 1
    sent = messages(ZONE, changes(state(NS, *many), state(NS)), key=KEY)
    assert [len(m.update) for m in sent] == [1000, 1000, 500]
    assert all(len(m.prerequisite) == len(m.update) for m in sent)


def test_messages_are_cut_to_stay_under_64_kib():
    big = [rrset(ZONE, f"t{i}", "TXT", 300, ['"' + "x" * 250 + f'" "{i}"']) for i in range(600)]
    updates = build_updates(ZONE, changes(state(NS, *big), state(NS)), key=KEY)
    assert len(updates) > 2
    assert all(len(u.wire) <= 65_000 for u in updates)
    sent = [r.name.to_text() for u in updates for r in u.message.update]
    assert sorted(sent) == sorted(r.name for r in big)  # each RRset exactly once


def test_an_rrset_too_big_for_any_message_is_refused():
    huge = rrset(ZONE, "huge", "TXT", 300, [f'"{i:03d}' + "y" * 240 + '"' for i in range(300)])
    with pytest.raises(ValueError, match="huge.example.org. TXT"):
        build_updates(ZONE, changes(state(NS, huge), state(NS)), key=KEY)

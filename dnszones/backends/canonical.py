"""The one spelling of an RRset that the control plane and the server's answers share (pure).

A DNS server compares names case-insensitively and Knot stores names inside rdata in
lower case (`MX 10 MX1.Example.NET.` is served as `10 mx1.example.net.`), so a state
built from the database and a state read back by a zone transfer only compare as plain
data once both are written this way: absolute lower-case owner names, rdata as dnspython
prints it after RFC 4034 §6.2 canonicalisation (names in NS, CNAME, MX, SRV… lowered;
TXT and CAA values keep their case), values sorted and without duplicates.
"""
from __future__ import annotations

from collections.abc import Iterable

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from ..zone.records import canonical
from .base import RRset

# Records a server adds on its own (DNSSEC signing); never part of a desired state.
SERVER_OWNED_TYPES = frozenset(
    {"SOA", "RRSIG", "NSEC", "NSEC3", "NSEC3PARAM", "DNSKEY", "CDS", "CDNSKEY", "ZONEMD"}
)


def absolute_name(name: str, zone: str) -> str:
    """`www`, `@`, `www.example.org.` → `www.example.org.` (lower case), for zone `example.org.`."""
    origin = dns.name.from_text(zone)
    return dns.name.from_text(name, origin=origin).to_text().lower()


# The database's records and the served zone must print a value the same way, or every
# reconcile would see drift: one function for both.
canonical_value = canonical


def parse_value(rtype: str, value: str, zone: str) -> dns.rdata.Rdata:
    """The rdata of one zone-file value; names in it are relative to `zone` unless absolute.
    Raises dns.exception.SyntaxError (and its kin) for rdata dnspython refuses."""
    origin = dns.name.from_text(zone)
    return dns.rdata.from_text(dns.rdataclass.IN, rtype, value, origin=origin, relativize=False)


def rrset(zone: str, name: str, rtype: str, ttl: int, values: Iterable[str]) -> RRset:
    """One RRset in canonical form from zone-file text (`name` relative to `zone` or absolute)."""
    rtype = dns.rdatatype.to_text(dns.rdatatype.from_text(rtype))
    texts = tuple(sorted({canonical_value(parse_value(rtype, v, zone)) for v in values}))
    if not texts:
        raise ValueError(f"{name} {rtype}: an RRset needs at least one value")
    return RRset(absolute_name(name, zone), rtype, int(ttl), texts)


def rrset_from_rdatas(name: dns.name.Name, ttl: int, rdatas: Iterable[dns.rdata.Rdata]) -> RRset:
    """An RRset read from the wire (a zone transfer) in canonical form."""
    rdatas = list(rdatas)
    rtype = dns.rdatatype.to_text(rdatas[0].rdtype)
    texts = tuple(sorted({canonical_value(rd) for rd in rdatas}))
    return RRset(name.to_text().lower(), rtype, int(ttl), texts)

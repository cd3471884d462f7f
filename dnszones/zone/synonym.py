"""The zone of a synonym domain: a materialised copy of its main domain's zone.

A DNAME at the apex cannot do this (RFC 6672: the apex's own A, MX and TXT are not
redirected), so every RRset of the main zone is copied with its owner name re-rooted under
the synonym. Targets (MX, CNAME, SRV) keep pointing at the main domain's hosts. What is
bound to the main name is left out or rewritten:

* DKIM keys (`*._domainkey`): the main domain's selectors sign `d=<main>`, and a key at the
  synonym's name would only invite signatures nobody made;
* `_acme-challenge`: a certificate challenge answers for one name only;
* NS below the apex: a delegated child zone does not serve the re-rooted name;
* `_dmarc`: report addresses at the main domain are rewritten to the synonym (its mail
  reaches the same mailbox, and a report address outside the policy's domain needs an
  authorisation record, RFC 7489 §7.1, which nobody publishes for it);
* the apex NS and the SOA are ours.
"""
from __future__ import annotations

import re

from ..backends.base import RRset, ZoneState

SKIPPED_LABELS = frozenset({"_domainkey", "_acme-challenge"})


def _absolute(zone: str) -> str:
    return zone.strip().lower().rstrip(".") + "."


def _reroot(name: str, main: str, synonym: str) -> str:
    if name == main:
        return synonym
    return name[: -len(main)] + synonym


def _skipped(relative_labels: list[str], rtype: str) -> bool:
    if SKIPPED_LABELS & set(relative_labels):
        return True
    return rtype == "NS" and bool(relative_labels)


def _dmarc_value(value: str, main: str, synonym: str) -> str:
    """`mailto:x@main` (any case) → `mailto:x@synonym`, in every string of the TXT value."""
    main_name, synonym_name = main.rstrip("."), synonym.rstrip(".")
    pattern = re.compile(r"(mailto:[^@\s;,\"!]+@)" + re.escape(main_name) + r"(?=[\s;,\"!]|$)",
                         re.IGNORECASE)
    return pattern.sub(lambda m: m.group(1) + synonym_name, value)


def synonym_zone(main_state: ZoneState, synonym: str, *, nameservers=None,
                 soa_email: str | None = None) -> ZoneState:
    """The synonym's zone from the main zone's desired state. `nameservers`: our apex NS
    (the main zone's apex NS when not given); `soa_email` likewise."""
    main, zone = _absolute(main_state.zone), _absolute(synonym)
    rrsets = []
    for rrset in main_state.rrsets:
        name = rrset.name.lower()
        if not (name == main or name.endswith("." + main)):
            continue  # not in the main zone: nothing to re-root
        labels = name[: -len(main)].rstrip(".").split(".") if name != main else []
        if name == main and rrset.type == "NS":
            if nameservers is None:
                rrsets.append(RRset(zone, "NS", rrset.ttl, rrset.values))
            continue
        if _skipped(labels, rrset.type):
            continue
        values = rrset.values
        if rrset.type == "TXT" and labels[:1] == ["_dmarc"] and len(labels) == 1:
            values = tuple(sorted({_dmarc_value(v, main, zone) for v in values}))
        rrsets.append(RRset(_reroot(name, main, zone), rrset.type, rrset.ttl, values))
    if nameservers:
        values = tuple(sorted({server.lower().rstrip(".") + "." for server in nameservers}))
        rrsets.append(RRset(zone, "NS", main_state.default_ttl, values))
    return ZoneState(zone=zone, rrsets=tuple(sorted(rrsets)),
                     soa_email=main_state.soa_email if soa_email is None else soa_email,
                     default_ttl=main_state.default_ttl)

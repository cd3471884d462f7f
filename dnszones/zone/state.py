"""The zone state a push hands the DNS server (dnszones.backends.base.ZoneState), built from
plain records, and its JSON form (what the last successful push left, kept on the domain)."""
from __future__ import annotations

from collections import defaultdict

from ..backends.base import RRset, ZoneDiff, ZoneState, diff
from .records import DEFAULT_TTL, RecordData, absolute_name, origin_of


def zone_state(zone: str, records, *, nameservers, default_ttl: int = DEFAULT_TTL,
               soa_email: str = "hostmaster") -> ZoneState:
    """One RRset per (name, type). Records of one RRset share a TTL (RFC 2181 §5.2); should
    they differ, the smallest wins, as no cache keeps them longer than that."""
    values, ttls = defaultdict(set), {}
    for record in records:
        key = (absolute_name(zone, record.name), record.type)
        values[key].add(record.value)
        ttls[key] = min(ttls.get(key, record.ttl), record.ttl)
    apex = origin_of(zone).to_text()
    if nameservers:
        key = (apex, "NS")
        values[key] = {server.lower().rstrip(".") + "." for server in nameservers}
        ttls[key] = default_ttl
    rrsets = tuple(sorted(RRset(name=name, type=rtype, ttl=ttls[(name, rtype)],
                                values=tuple(sorted(values[(name, rtype)])))
                          for name, rtype in values))
    return ZoneState(zone=apex, rrsets=rrsets, soa_email=soa_email, default_ttl=default_ttl)


def state_to_json(state: ZoneState) -> dict:
    return {"zone": state.zone, "soa_email": state.soa_email, "default_ttl": state.default_ttl,
            "rrsets": [[r.name, r.type, r.ttl, list(r.values)] for r in state.rrsets]}


def state_from_json(data) -> ZoneState | None:
    if not data:
        return None
    return ZoneState(zone=data["zone"], soa_email=data.get("soa_email", "hostmaster"),
                     default_ttl=data.get("default_ttl", DEFAULT_TTL),
                     rrsets=tuple(RRset(name, rtype, ttl, tuple(values))
                                  for name, rtype, ttl, values in data["rrsets"]))


def describe(changes: ZoneDiff) -> list[str]:
    """A diff as lines for the audit log: `- www.example.org. 300 A 192.0.2.1`."""
    return ([f"- {r.name} {r.ttl} {r.type} {' | '.join(r.values)}" for r in changes.delete]
            + [f"+ {r.name} {r.ttl} {r.type} {' | '.join(r.values)}" for r in changes.add])


def drift(desired: ZoneState, served: ZoneState | None) -> list[str]:
    """What the served zone lacks or has too much, as audit lines; [] when it is as desired."""
    if served is None:
        return [f"zone {desired.zone} is not served"]
    return describe(diff(served, desired))


def records_of(zone: str, rows) -> list[RecordData]:
    return [RecordData(name=n, type=t, ttl=ttl, value=v) for n, t, ttl, v in rows]

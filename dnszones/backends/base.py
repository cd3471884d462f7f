"""What the DNS push hands a DNS server, and what it asks of one (pure data, no I/O).

The control plane owns the desired state of each zone it serves; an adapter (Knot today,
`knot.py`) makes the server serve exactly that. Names are absolute A-labels in lower case
with the trailing dot; rdata is in zone-file presentation form as dnspython writes it
(`10 mx1.example.net.`, `"v=spf1 -all"`), so two states compare as plain data.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class RRset:
    name: str  # absolute, e.g. "www.example.org."
    type: str  # "A", "AAAA", "CNAME", "MX", "TXT", "SRV", "CAA", "NS"
    ttl: int
    values: tuple[str, ...]  # rdata texts, sorted; never empty


@dataclass(frozen=True)
class ZoneState:
    """One zone as the control plane wants it served. The SOA is the server's to keep
    (its serial moves with every change); `rrsets` never holds one. The apex NS set is
    part of `rrsets` like any other."""

    zone: str  # absolute, e.g. "example.org."
    rrsets: tuple[RRset, ...] = ()  # sorted, one per (name, type)
    soa_email: str = "hostmaster"  # relative to the zone unless absolute (ends with ".")
    default_ttl: int = 3600


class DnsBackendError(Exception):
    """A push failed. `permanent`: retrying the same state cannot succeed (e.g. the server
    refuses the data); else the push is retried with backoff."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class ZoneDrifted(DnsBackendError):
    """The served zone is not what the last push left (an out-of-band edit): the update's
    prerequisites failed and nothing was changed. The caller reconciles (audited)."""


@dataclass(frozen=True)
class ZoneDiff:
    """What changes between two states of one zone: RRsets to delete and to add (a changed
    RRset appears in both)."""

    delete: tuple[RRset, ...] = field(default=())
    add: tuple[RRset, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not self.delete and not self.add


def diff(before: ZoneState | None, after: ZoneState) -> ZoneDiff:
    old = {(r.name, r.type): r for r in (before.rrsets if before else ())}
    new = {(r.name, r.type): r for r in after.rrsets}
    delete = tuple(sorted(r for key, r in old.items() if new.get(key) != r))
    add = tuple(sorted(r for key, r in new.items() if old.get(key) != r))
    return ZoneDiff(delete=delete, add=add)


class DnsBackend:
    """What the DNS push needs from a server. Every method is idempotent."""

    def ensure_zone(self, state: ZoneState) -> None:
        """Serve the zone (create it at runtime if the server lacks it), empty but for the
        SOA and the apex NS the state gives."""
        raise NotImplementedError

    def apply(self, state: ZoneState, *, expected: ZoneState | None) -> None:
        """Make the served zone equal `state`, as one update per change-set. `expected`:
        what the last push left; the update's prerequisites require it, so an out-of-band
        change raises ZoneDrifted instead of being overwritten. None: replace whatever is
        served (the reconcile after drift)."""
        raise NotImplementedError

    def actual(self, zone: str) -> ZoneState | None:
        """The zone as served (a zone transfer), SOA left out; None if not served."""
        raise NotImplementedError

    def remove_zone(self, zone: str) -> None:
        raise NotImplementedError

    def zones(self) -> list[str]:
        raise NotImplementedError

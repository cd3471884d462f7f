"""What an import would change in a zone: records added, removed, and kept with a new TTL."""
from __future__ import annotations

from dataclasses import dataclass, field

from .records import RecordData


@dataclass(frozen=True)
class ZoneChanges:
    added: list[RecordData] = field(default_factory=list)
    removed: list[RecordData] = field(default_factory=list)
    changed: list[tuple[RecordData, RecordData]] = field(default_factory=list)  # (before, after)
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def import_changes(current, incoming) -> ZoneChanges:
    """A record is known by its name, type and value; only its TTL can change in place."""
    before = {(r.name, r.type, r.value): r for r in current}
    after = {(r.name, r.type, r.value): r for r in incoming}
    added = sorted(r for key, r in after.items() if key not in before)
    removed = sorted(r for key, r in before.items() if key not in after)
    changed = sorted((before[key], r) for key, r in after.items()
                     if key in before and before[key].ttl != r.ttl)
    unchanged = sum(1 for key, r in after.items() if key in before and before[key].ttl == r.ttl)
    return ZoneChanges(added=added, removed=removed, changed=changed, unchanged=unchanged)

"""The forwarding graph (pure): where mail sent to an address also goes — alias → its
address, address → its redirections and the forwards of its sorting rules — and the loops
in it. The redirection service (refusal) and the rule linter (warning) both ask
`loop_path`, so they can never disagree about what is a loop."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

# Given some addresses, where mail sent to each of them also goes (one call per hop, so
# that a database-backed lookup costs a few queries per hop, not one per address).
TargetsOf = Callable[[set[str]], Mapping[str, Iterable[str]]]


def fold(address: str) -> str:
    """Addresses compare as Sieve compares them (i;ascii-casemap: ASCII letters only)."""
    return "".join(ch.lower() if ch.isascii() else ch for ch in address.strip())


def targets_from_mapping(forwards_of: Mapping[str, Iterable[str]]) -> TargetsOf:
    """A lookup over a graph already in memory."""
    folded: dict[str, set[str]] = {}
    for source, targets in forwards_of.items():
        folded.setdefault(fold(source), set()).update(fold(t) for t in targets)

    def targets_of(addresses: set[str]) -> dict[str, set[str]]:
        return {a: folded[a] for a in addresses if a in folded}

    return targets_of


def loop_path(start: str, home: str, targets_of: TargetsOf,
              *, extra: Mapping[str, Iterable[str]] | None = None) -> list[str] | None:
    """The shortest forwarding path from `start` back to `home` (both included), or None.

    `extra` adds edges that are not stored yet (the change being checked). Breadth-first,
    one `targets_of` call per hop; each address is visited once."""
    start, home = fold(start), fold(home)
    pending = targets_from_mapping(extra or {})
    parents: dict[str, str | None] = {start: None}
    if start == home:
        return [start]
    level = {start}
    while level:
        found: dict[str, set[str]] = {}
        for lookup in (targets_of, pending):
            for source, targets in lookup(level).items():
                found.setdefault(fold(source), set()).update(fold(t) for t in targets)
        next_level: set[str] = set()
        for current in sorted(level):
            for target in sorted(found.get(current, ())):
                if target in parents:
                    continue
                parents[target] = current
                if target == home:
                    path, node = [], target
                    while node is not None:
                        path.append(node)
                        node = parents[node]
                    return path[::-1]
                next_level.add(target)
        level = next_level
    return None

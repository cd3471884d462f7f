"""Flattening: a record over the 10-lookup limit gets its most expensive includes replaced
by the addresses they authorise (ip4/ip6, networks collapsed), until it is within the limit.

An include matches exactly the addresses for which the included record evaluates to
"pass" (RFC 7208 §5.2). That set is computed here term by term with first-match
semantics: a term adds to the pass set only the addresses no earlier term decided, with
its own qualifier; `all` decides the rest; a redirect the rest when there is no `all`.
An include whose result depends on the message (macros, ptr, exists) or that errs (loop,
missing record, more than 10 MX names, a failed lookup) is kept as it is. The addresses
are those the providers publish now: the caller re-flattens when they change."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from .analysis import DnsFailure, Lookup, absolute, analyse, spf_records
from .terms import LOOKUP_LIMIT, MX_NAMES_LIMIT, Term, gettext_noop, parse, render

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
EVERYTHING = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))


class NotFlattenable(Exception):
    """This include's result cannot be written as addresses (the reason in English)."""


@dataclass(frozen=True)
class Flattened:
    text: str
    lookups_before: int
    lookups_after: int
    inlined: tuple[str, ...] = ()  # the includes replaced by addresses, as written
    kept: tuple[tuple[str, str], ...] = ()  # (include, why it could not be inlined)
    warnings: tuple[tuple[str, str, dict], ...] = field(default=())

    @property
    def changed(self) -> bool:
        return bool(self.inlined)


def collapse(networks) -> list[Network]:
    """Networks merged and sorted, IPv4 before IPv6."""
    nets = list(networks)
    return [*ipaddress.collapse_addresses(n for n in nets if n.version == 4),
            *ipaddress.collapse_addresses(n for n in nets if n.version == 6)]


def subtract(networks, removed) -> list[Network]:
    result = collapse(networks)
    for cut in collapse(removed):
        kept = []
        for net in result:
            if net.version != cut.version or not net.overlaps(cut):
                kept.append(net)
            elif not net.subnet_of(cut):  # the cut lies inside: keep the rest of it
                kept.extend(net.address_exclude(cut))
        result = kept
    return collapse(result)


class _PassSets:
    def __init__(self, lookup: Lookup):
        self.lookup_function, self.cache = lookup, {}

    def lookup(self, name: str, rtype: str) -> tuple[str, ...]:
        key = (absolute(name), rtype)
        if key not in self.cache:
            try:
                self.cache[key] = tuple(self.lookup_function(key[0], rtype))
            except DnsFailure as exc:
                raise NotFlattenable(f"the lookup of {key[0]} {rtype} failed") from exc
        return self.cache[key]

    def addresses(self, name: str, cidr4: int | None, cidr6: int | None) -> list[Network]:
        nets = [ipaddress.ip_network(f"{a}/{32 if cidr4 is None else cidr4}", strict=False)
                for a in self.lookup(name, "A")]
        nets += [ipaddress.ip_network(f"{a}/{128 if cidr6 is None else cidr6}", strict=False)
                 for a in self.lookup(name, "AAAA")]
        return nets

    def record_of(self, name: str) -> str:
        records = spf_records(self.lookup(name, "TXT"))
        if len(records) != 1:
            raise NotFlattenable(f"{name} has {len(records)} SPF records")
        return records[0]

    def matches(self, term: Term, domain: str, path: tuple[str, ...]) -> list[Network]:
        if term.macros or term.name in ("ptr", "exists"):
            raise NotFlattenable(f"“{term.text}” depends on each message")
        target = absolute(term.domain or domain)
        if term.name in ("ip4", "ip6"):
            return [ipaddress.ip_network(term.network, strict=False)]
        if term.name == "all":
            return list(EVERYTHING)
        if term.name == "a":
            return self.addresses(target, term.cidr4, term.cidr6)
        if term.name == "mx":
            hosts = [value.split()[-1] for value in self.lookup(target, "MX")]
            if len(hosts) > MX_NAMES_LIMIT:
                raise NotFlattenable(f"{target} has more than 10 mail servers")
            return [n for host in hosts for n in self.addresses(host, term.cidr4, term.cidr6)]
        return self.passing(target, path)  # include

    def passing(self, domain: str, path: tuple[str, ...] = ()) -> list[Network]:
        """The addresses for which the SPF record of `domain` evaluates to pass."""
        if domain in path:
            raise NotFlattenable(f"the includes loop at {domain}")
        path = (*path, domain)
        parsed = parse(self.record_of(domain))
        if not parsed.ok:
            raise NotFlattenable(f"the record of {domain} has syntax errors")
        decided, passed = [], []
        for term in parsed.evaluated:
            if term.kind == "modifier":  # the redirect: no `all` was reached
                passed += subtract(self.passing(absolute(term.domain), path), decided)
                break
            matched = self.matches(term, domain, path)
            if term.qualifier == "+":
                passed += subtract(matched, decided)
            decided = collapse([*decided, *matched])
        return collapse(passed)


def _ip_terms(networks, qualifier: str) -> list[Term]:
    prefix = "" if qualifier == "+" else qualifier
    terms = []
    for net in collapse(networks):
        kind = f"ip{net.version}"
        written = str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net)
        terms.append(Term(f"{prefix}{kind}:{written}", 0, "mechanism", kind, qualifier=qualifier,
                          network=written))
    return terms


def flatten(domain: str, source: str, lookup: Lookup, *, limit: int = LOOKUP_LIMIT) -> Flattened:
    """`source` (published at `domain`) with includes inlined, most expensive first, until
    its lookups are within `limit`; unchanged when they already are."""
    domain = absolute(domain)
    report = analyse(domain, lookup, record=source)
    before = total = report.lookups
    parsed = parse(source)
    if not parsed.ok:
        raise NotFlattenable("the record has syntax errors")
    reached = {id(t) for t in parsed.evaluated}
    costs = {}  # what inlining an include saves: its own lookup and those below it
    for child in report.tree.children:
        if child.via == "include":
            costs.setdefault(child.term, 1 + child.subtotal)
    candidates = sorted((t for t in parsed.mechanisms if t.name == "include" and id(t) in reached),
                        key=lambda t: (-costs.get(t.text, 1), t.position))
    sets, inlined, kept, warnings = _PassSets(lookup), {}, [], []
    for term in candidates:
        if total <= limit:
            break
        try:
            inlined[id(term)] = sets.matches(term, domain, (domain,))
        except NotFlattenable as why:
            kept.append((term.text, str(why)))
            continue
        total -= costs.get(term.text, 1)
    if not inlined:
        if total > limit:
            warnings.append(_over(domain, total))
        return Flattened(source.strip(), before, total, (), tuple(kept), tuple(warnings))
    text = _rewritten(parsed, inlined)
    after = analyse(domain, lookup, record=text).lookups
    if after > limit:
        warnings.append(_over(domain, after))
    names = tuple(t.text for t in parsed.mechanisms if id(t) in inlined)
    return Flattened(text, before, after, names, tuple(kept), tuple(warnings))


def _over(domain: str, count: int):
    return ("still_over_limit", gettext_noop(
        "Even flattened, the SPF record of %(domain)s needs %(count)d lookups: the includes "
        "left depend on each message or have errors."), {"domain": domain, "count": count})


def _rewritten(parsed, inlined: dict) -> str:
    """When every mechanism before `all` passes (the usual record), their order does not
    change the result: all addresses are gathered first, collapsed together. Otherwise
    each include is replaced where it stood."""
    mechanisms = [t for t in parsed.evaluated if t.kind == "mechanism" and t.name != "all"]
    rest = [t for t in parsed.terms if t not in mechanisms and t.kind == "mechanism"
            and t.name == "all"][:1]
    modifiers = [t for t in parsed.terms if t.kind == "modifier"]
    if all(t.qualifier == "+" for t in mechanisms):
        networks = [n for t in mechanisms if id(t) in inlined for n in inlined[id(t)]]
        networks += [ipaddress.ip_network(t.network, strict=False) for t in mechanisms
                     if t.name in ("ip4", "ip6")]
        others = [t for t in mechanisms if id(t) not in inlined and t.name not in ("ip4", "ip6")]
        terms = [*_ip_terms(networks, "+"), *others]
    else:
        terms = []
        for t in mechanisms:
            terms += _ip_terms(inlined[id(t)], t.qualifier) if id(t) in inlined else [t]
    return render([*terms, *rest, *modifiers])

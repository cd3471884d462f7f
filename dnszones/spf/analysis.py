"""What an SPF record costs and what is wrong with it: the DNS-querying terms counted
recursively with the real total (an evaluation stops at 10; this count does not, so the
owner sees how far over the limit a record is), a tree with each include's own count and
subtotal, void lookups, loops, missing includes, several records at one name, `+all`,
`ptr`, the deprecated SPF record type.

Counting follows RFC 7208 §4.6.4: include, a, mx, ptr, exists and redirect count one each;
ip4, ip6, all and exp none; terms after `all` are never evaluated, so they do not count (a
redirect beside an `all` neither). A void lookup is a query of one of those terms that
finds nothing: the include or redirect target without any TXT record, `mx` without MX
records, `exists` without an A record — and, for mail from one address family only, `a`
without an address of that family, or a mail server of `mx` without one (as pyspf counts
them). Voids are counted per family; the report gives the higher of the two.
Names with macros depend on each message: they are counted, not looked up."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .terms import (
    LOOKUP_LIMIT,
    MX_NAMES_LIMIT,
    VOID_LIMIT,
    Parsed,
    Term,
    explain,
    gettext_noop,
    is_spf,
    parse,
    render_message,
)

Lookup = Callable[[str, str], Sequence[str]]
MAX_NODES = 500  # a tree wider than this is cut (a record's real cost is long past 10 there)
RECORD_BYTES_ADVICE = 450  # RFC 7208 §3.4: keep the answer within one UDP packet


class DnsFailure(Exception):
    """The lookup function got no answer (timeout, SERVFAIL): unknown, not "absent"."""


@dataclass(frozen=True)
class Finding:
    code: str
    template: str
    params: dict = field(default_factory=dict)
    domain: str = ""  # whose record it is about
    position: int | None = None  # syntax errors: the 1-based column in that record
    term: str = ""


@dataclass(frozen=True)
class TermInfo:
    text: str
    template: str
    params: dict
    lookup: bool  # counts toward the 10


@dataclass
class Node:
    """One SPF record of the evaluation: the domain's own (`via` "record") or one reached
    through an include or redirect. `lookups` is its own count, `subtotal` with those of
    the records below it."""

    domain: str
    via: str
    term: str = ""
    record: str | None = None
    lookups: int = 0
    subtotal: int = 0
    void_lookups: int = 0  # its own, for the family with more of them
    void4: int = 0
    void6: int = 0
    void4_subtotal: int = 0
    void6_subtotal: int = 0
    problem: str = ""  # loop, missing, several, lookup_failed, macros (the node was not read)
    terms: list[TermInfo] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass
class Report:
    domain: str
    record: str | None
    records_found: int
    lookups: int = 0
    void_lookups: int = 0
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    tree: Node | None = None

    @property
    def codes(self) -> list[str]:
        return sorted({f.code for f in self.errors} | {f.code for f in self.warnings})


def spf_records(values: Sequence[str]) -> list[str]:
    """The SPF records among a name's TXT texts (RFC 7208 §4.5: starting with v=spf1)."""
    return sorted(v for v in values if is_spf(v.strip()))


def absolute(name: str) -> str:
    return name.lower().rstrip(".")


class _Analysis:
    def __init__(self, lookup: Lookup):
        self.lookup_function = lookup
        self.cache: dict[tuple[str, str], tuple[str, ...] | DnsFailure] = {}
        self.errors: list[Finding] = []
        self.warnings: list[Finding] = []
        self.nodes = 0
        self.truncated = False

    def lookup(self, name: str, rtype: str) -> tuple[str, ...]:
        key = (absolute(name), rtype)
        if key not in self.cache:
            try:
                self.cache[key] = tuple(self.lookup_function(key[0], rtype))
            except DnsFailure as exc:
                self.cache[key] = exc
        answer = self.cache[key]
        if isinstance(answer, DnsFailure):
            raise answer
        return answer

    def error(self, code, template, params=None, **where):
        self.errors.append(Finding(code, template, params or {}, **where))

    def warn(self, code, template, params=None, **where):
        self.warnings.append(Finding(code, template, params or {}, **where))

    # --- one record ---------------------------------------------------------------------

    def visit(self, node: Node, text: str, path: tuple[str, ...]) -> Node:
        self.nodes += 1
        node.record = text
        parsed = parse(text)
        domain = node.domain
        for problem in parsed.problems:
            self.error("syntax_error", problem.template, problem.params, domain=domain,
                       position=problem.position, term=problem.term)
        if len(text.encode("utf-8")) > RECORD_BYTES_ADVICE:
            self.warn("record_too_long", gettext_noop(
                "The SPF record of %(domain)s is %(bytes)d bytes long: above 450, its answer "
                "may not fit in one UDP packet (RFC 7208 §3.4)."),
                {"domain": domain, "bytes": len(text.encode("utf-8"))}, domain=domain)
        evaluated = parsed.evaluated
        reached = {id(t) for t in evaluated}
        for term in parsed.terms:
            template, params = explain(term, domain)
            node.terms.append(TermInfo(term.text, template, params,
                                       term.does_lookup and id(term) in reached))
        self._notes(parsed, domain, evaluated)
        for term in evaluated:
            if term.does_lookup:
                node.lookups += 1
                self._term(node, term, path)
        node.subtotal = node.lookups + sum(child.subtotal for child in node.children)
        node.void4_subtotal = node.void4 + sum(c.void4_subtotal for c in node.children)
        node.void6_subtotal = node.void6 + sum(c.void6_subtotal for c in node.children)
        node.void_lookups = max(node.void4, node.void6)
        return node

    def _notes(self, parsed: Parsed, domain: str, evaluated: list[Term]) -> None:
        all_term = parsed.all_term
        if all_term is not None and all_term.qualifier == "+":
            self.error("pass_all", gettext_noop(
                "“+all” in the record of %(domain)s authorises every server in the world to "
                "send mail as this domain: use -all, ~all or ?all."), {"domain": domain},
                domain=domain, position=all_term.position, term=all_term.text)
        after = [t for t in parsed.mechanisms if all_term is not None and t.position > all_term.position]
        if after:
            self.warn("terms_after_all", gettext_noop(
                "In the record of %(domain)s, “%(term)s” comes after “all”: it is never "
                "evaluated."), {"domain": domain, "term": after[0].text}, domain=domain,
                position=after[0].position, term=after[0].text)
        redirect = parsed.modifier("redirect")
        if redirect is not None and all_term is not None:
            self.warn("redirect_ignored", gettext_noop(
                "In the record of %(domain)s, “%(term)s” has no effect: a record with “all” "
                "never reaches its redirect (RFC 7208 §6.1)."), {"domain": domain,
                                                                  "term": redirect.text},
                domain=domain, position=redirect.position, term=redirect.text)
        if redirect is None and all_term is None and parsed.ok:
            self.warn("no_all", gettext_noop(
                "The record of %(domain)s ends without “all”: a server it does not list gets "
                "a neutral result, as with ?all."), {"domain": domain}, domain=domain)
        for term in parsed.terms:
            if term.kind == "modifier" and term.name not in ("redirect", "exp"):
                self.warn("unknown_modifier", gettext_noop(
                    "“%(term)s” in the record of %(domain)s is not a modifier receivers know: "
                    "they ignore it."), {"term": term.text, "domain": domain}, domain=domain,
                    position=term.position, term=term.text)
        for term in evaluated:
            if term.name == "ptr":
                self.warn("ptr", gettext_noop(
                    "“%(term)s” in the record of %(domain)s is slow and deprecated (RFC 7208 "
                    "§5.5), and many receivers skip it: list the addresses with ip4/ip6 "
                    "instead."), {"term": term.text, "domain": domain}, domain=domain,
                    position=term.position, term=term.text)
            if term.macros:
                self.warn("macros", gettext_noop(
                    "“%(term)s” in the record of %(domain)s uses macros: it is counted as one "
                    "lookup, but what it queries depends on each message."),
                    {"term": term.text, "domain": domain}, domain=domain,
                    position=term.position, term=term.text)

    def _void(self, node: Node, term: Term, name: str, family: int = 0) -> None:
        """A query that finds nothing: for mail from both families, or from one."""
        node.void4 += family in (0, 4)
        node.void6 += family in (0, 6)
        templates = {
            0: gettext_noop("“%(term)s” in the record of %(domain)s finds nothing at %(name)s "
                            "(a void lookup)."),
            4: gettext_noop("“%(term)s” in the record of %(domain)s finds no IPv4 address at "
                            "%(name)s (a void lookup for mail from IPv4)."),
            6: gettext_noop("“%(term)s” in the record of %(domain)s finds no IPv6 address at "
                            "%(name)s (a void lookup for mail from IPv6)."),
        }
        self.warn("void_lookup", templates[family],
                  {"term": term.text, "domain": node.domain, "name": name},
                  domain=node.domain, position=term.position, term=term.text)

    def _addresses(self, node: Node, term: Term, name: str) -> None:
        four, six = self.lookup(name, "A"), self.lookup(name, "AAAA")
        if not four and not six:
            self._void(node, term, name)
        elif not four:
            self._void(node, term, name, 4)
        elif not six:
            self._void(node, term, name, 6)

    def _term(self, node: Node, term: Term, path: tuple[str, ...]) -> None:
        if term.macros or term.name == "ptr":
            return
        target = absolute(term.domain or node.domain)
        try:
            if term.name in ("include", "redirect"):
                self._include(node, term, target, path)
            elif term.name == "a":
                self._addresses(node, term, target)
            elif term.name == "exists":
                if not self.lookup(target, "A"):
                    self._void(node, term, target)
            elif term.name == "mx":
                names = self.lookup(target, "MX")
                if not names:
                    self._void(node, term, target)
                elif len(names) > MX_NAMES_LIMIT:
                    self.error("mx_too_many_names", gettext_noop(
                        "“%(term)s” in the record of %(domain)s finds %(count)d mail servers: "
                        "more than 10 is an error for receivers (RFC 7208 §4.6.4)."),
                        {"term": term.text, "domain": node.domain, "count": len(names)},
                        domain=node.domain, position=term.position, term=term.text)
                else:
                    for host in names:
                        self._addresses(node, term, absolute(host.split()[-1]))
        except DnsFailure as exc:
            self.error("lookup_failed", gettext_noop(
                "The lookup of %(name)s for “%(term)s” failed (%(reason)s): receivers would "
                "answer a temporary error."), {"name": target, "term": term.text,
                                               "reason": str(exc) or "timeout"},
                domain=node.domain, position=term.position, term=term.text)
            if term.name in ("include", "redirect"):
                node.children.append(Node(target, term.name, term.text, problem="lookup_failed"))

    def _include(self, node: Node, term: Term, target: str, path: tuple[str, ...]) -> None:
        child = Node(target, term.name, term.text)
        node.children.append(child)
        if target in path:
            child.problem = "loop"
            self.error("include_loop", gettext_noop(
                "“%(term)s” in the record of %(domain)s leads back to %(target)s: the includes "
                "loop (%(path)s), receivers answer an error."),
                {"term": term.text, "domain": node.domain, "target": target,
                 "path": " → ".join([*path, target])},
                domain=node.domain, position=term.position, term=term.text)
            return
        if self.nodes >= MAX_NODES:
            child.problem = "truncated"
            self.truncated = True
            return
        texts = self.lookup(target, "TXT")
        records = spf_records(texts)
        if not records:
            child.problem = "missing"
            if not texts:
                self._void(node, term, target)
            self.error("include_missing", gettext_noop(
                "“%(term)s” in the record of %(domain)s points at %(target)s, which has no SPF "
                "record: receivers answer an error (permerror)."),
                {"term": term.text, "domain": node.domain, "target": target},
                domain=node.domain, position=term.position, term=term.text)
            return
        if len(records) > 1:
            child.problem = "several"
            self.error("include_several_records", gettext_noop(
                "%(target)s, included by the record of %(domain)s, has %(count)d SPF records: "
                "receivers answer an error (permerror)."),
                {"target": target, "domain": node.domain, "count": len(records)},
                domain=node.domain, position=term.position, term=term.text)
        self.visit(child, records[0], (*path, target))


def analyse(domain: str, lookup: Lookup, *, record: str | None = None) -> Report:
    """The report of `domain`'s SPF: the record published at its name (looked up), or
    `record` as if it were published there (a preview)."""
    domain = absolute(domain)
    state = _Analysis(lookup)
    if record is None:
        try:
            found = spf_records(state.lookup(domain, "TXT"))
        except DnsFailure as exc:
            state.error("lookup_failed", gettext_noop(
                "The lookup of the TXT records of %(name)s failed (%(reason)s)."),
                {"name": domain, "reason": str(exc) or "timeout"}, domain=domain)
            return Report(domain, None, 0, errors=state.errors, warnings=state.warnings)
        _spf_type(state, domain)
    else:
        found = [record.strip()]
    report = Report(domain, found[0] if found else None, len(found))
    if not found:
        state.error("no_record", gettext_noop(
            "%(domain)s has no SPF record: receivers cannot tell which servers may send its "
            "mail."), {"domain": domain}, domain=domain)
    elif len(found) > 1:
        state.error("several_records", gettext_noop(
            "%(domain)s has %(count)d SPF records: several SPF records cause errors, "
            "receivers treat them as none (permerror). Merge them into one TXT record."),
            {"domain": domain, "count": len(found)}, domain=domain)
    if found:
        report.tree = state.visit(Node(domain, "record"), found[0], (domain,))
        report.lookups = report.tree.subtotal
        report.void_lookups = max(report.tree.void4_subtotal, report.tree.void6_subtotal)
    if report.lookups > LOOKUP_LIMIT:
        state.errors.insert(0, Finding("too_many_lookups", gettext_noop(
            "The SPF record of %(domain)s needs %(count)d DNS lookups: receivers stop at 10 "
            "and answer an error (permerror). Remove includes, or flatten them."),
            {"domain": domain, "count": report.lookups}, domain=domain))
    if report.void_lookups > VOID_LIMIT:
        state.errors.insert(0, Finding("too_many_void_lookups", gettext_noop(
            "The SPF record of %(domain)s makes %(count)d void lookups (queries that find "
            "nothing): receivers stop after 2 and answer an error (RFC 7208 §4.6.4)."),
            {"domain": domain, "count": report.void_lookups}, domain=domain))
    if state.truncated:
        state.warn("tree_truncated", gettext_noop(
            "The includes of %(domain)s are so many that only the first %(max)d records were "
            "read: the real total is higher still."), {"domain": domain, "max": MAX_NODES},
            domain=domain)
    report.errors, report.warnings = state.errors, state.warnings
    return report


def _spf_type(state: _Analysis, domain: str) -> None:
    try:
        deprecated = spf_records(state.lookup(domain, "SPF"))
    except DnsFailure:
        return  # some servers mishandle type 99; it says nothing about the TXT record
    if deprecated:
        state.warn("spf_record_type", gettext_noop(
            "%(domain)s also publishes a record of the SPF type: that type is deprecated "
            "(RFC 7208 §3.1) and receivers read only the TXT record. Delete it."),
            {"domain": domain}, domain=domain)


def _english(template: str, params: dict) -> str:
    return render_message(template, params)


def finding_data(finding: Finding, message=_english) -> dict:
    return {"code": finding.code, "message": message(finding.template, finding.params),
            "domain": finding.domain, "position": finding.position, "term": finding.term}


def node_data(node: Node, message=_english) -> dict:
    return {"domain": node.domain, "via": node.via, "term": node.term, "record": node.record,
            "lookups": node.lookups, "subtotal": node.subtotal,
            "void_lookups": node.void_lookups, "problem": node.problem,
            "terms": [{"term": t.text, "lookup": t.lookup,
                       "explanation": message(t.template, t.params)} for t in node.terms],
            "children": [node_data(child, message) for child in node.children]}


def report_data(report: Report, message=_english) -> dict:
    """The report as plain data (the API's answer); `message(template, params)` renders a
    message in the reader's language."""
    return {"domain": report.domain, "record": report.record,
            "records_found": report.records_found, "lookups": report.lookups,
            "void_lookups": report.void_lookups,
            "errors": [finding_data(f, message) for f in report.errors],
            "warnings": [finding_data(f, message) for f in report.warnings],
            "tree": node_data(report.tree, message) if report.tree else None}

"""An SPF record cut into its terms (RFC 7208 §4.6, §12): version, mechanisms with their
qualifier, modifiers, macros; each syntax error with its 1-based column in the record."""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field


def gettext_noop(text: str) -> str:
    """Marks a message for the catalogue; the Django side translates it."""
    return text


def render_message(template: str, params: dict, translate=lambda text: text) -> str:
    """A message in the reader's language: a parameter that is itself a (template, params)
    pair is a message too (the result of a term, the problem in a record)."""
    values = {key: render_message(*value, translate) if isinstance(value, tuple) else value
              for key, value in (params or {}).items()}
    return translate(template) % values


VERSION = "v=spf1"
MECHANISMS = ("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists")
# The terms that make a DNS query: at most 10 per evaluation (RFC 7208 §4.6.4).
LOOKUP_MECHANISMS = frozenset({"include", "a", "mx", "ptr", "exists"})
LOOKUP_MODIFIERS = frozenset({"redirect"})
QUALIFIERS = "+-~?"
STRICTNESS = {"-": 3, "~": 2, "?": 1, "+": 0}  # stricter first when merging
LOOKUP_LIMIT = 10
VOID_LIMIT = 2
MX_NAMES_LIMIT = 10

_MODIFIER = re.compile(r"^([a-z][a-z0-9_.\-]*)=(.*)$", re.IGNORECASE)
_MECHANISM = re.compile(r"^([+\-~?]?)([a-z0-9]*)(.*)$", re.IGNORECASE)
_DUAL_CIDR = re.compile(r"^(?:/(\d{1,3}))?(?://(\d{1,3}))?$")
_MACRO = re.compile(r"%\{([slodiphcrtv])(\d*)(r?)([.\-+,/_=]*)\}|%%|%_|%-", re.IGNORECASE)
_TOPLABEL = re.compile(r"^(?=.*[a-z])[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$", re.IGNORECASE)
_IP4 = re.compile(r"^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$")


@dataclass(frozen=True)
class Term:
    """One term as written (`text`, at column `position`) and what it says."""

    text: str
    position: int
    kind: str  # "mechanism" or "modifier"
    name: str  # lower case: include, a, …, or the modifier's name (redirect, exp, …)
    qualifier: str = "+"  # mechanisms only; "+" when none is written
    domain: str = ""  # the domain-spec (mechanisms a, mx, ptr, include, exists; redirect, exp)
    network: str = ""  # ip4/ip6: the network as written, with its prefix length
    cidr4: int | None = None  # a, mx: the IPv4 prefix length written after the name
    cidr6: int | None = None
    macros: bool = False  # the domain-spec has macros: its value depends on each message

    @property
    def does_lookup(self) -> bool:
        return (self.kind == "mechanism" and self.name in LOOKUP_MECHANISMS) or (
            self.kind == "modifier" and self.name in LOOKUP_MODIFIERS)

    @property
    def key(self) -> str:
        """The term normalised, to find duplicates (`+` implied, names in lower case)."""
        return render_term(self)


@dataclass(frozen=True)
class SyntaxProblem:
    position: int  # 1-based column in the record
    term: str
    template: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Parsed:
    text: str
    terms: tuple[Term, ...] = ()
    problems: tuple[SyntaxProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def mechanisms(self) -> list[Term]:
        return [t for t in self.terms if t.kind == "mechanism"]

    def modifier(self, name: str) -> Term | None:
        return next((t for t in self.terms if t.kind == "modifier" and t.name == name), None)

    @property
    def all_term(self) -> Term | None:
        return next((t for t in self.terms if t.kind == "mechanism" and t.name == "all"), None)

    @property
    def evaluated(self) -> list[Term]:
        """The terms an evaluation can reach: mechanisms up to `all` (those after it are
        never tested), then `redirect` only when there is no `all` (RFC 7208 §6.1)."""
        reached = []
        for term in self.mechanisms:
            reached.append(term)
            if term.name == "all":
                return reached
        redirect = self.modifier("redirect")
        return reached + ([redirect] if redirect else [])


def is_spf(text: str) -> bool:
    lowered = text.lower()
    return lowered == VERSION or lowered.startswith(VERSION + " ")


def _domain_problem(spec: str, *, allow_exp_macros: bool = False) -> tuple[str, dict] | None:
    """Why a domain-spec is invalid (RFC 7208 §7.1, §4.8), or None."""
    if not spec:
        return gettext_noop("A domain name is missing after “:”."), {}
    rest = _MACRO.sub("", spec)
    for match in _MACRO.finditer(spec):
        letter = (match.group(1) or "").lower()
        if letter in "crt" and letter and not allow_exp_macros:
            return gettext_noop("The macro “%(macro)s” is allowed in exp= only."), {
                "macro": match.group(0)}
    if "%" in rest:
        return gettext_noop("“%%” starts a macro: write %%{…}, %%%%, %%_ or %%-."), {}
    if any(ord(c) < 0x21 or ord(c) > 0x7E for c in rest):
        return gettext_noop("Only ASCII characters are allowed: write the domain as an "
                            "A-label (xn--…)."), {}
    if _MACRO.search(spec):
        return None  # the domain-end is checked once the macros are expanded
    name = spec.rstrip(".")
    labels = name.split(".")
    if len(labels) < 2 or not _TOPLABEL.match(labels[-1]):
        return gettext_noop("“%(domain)s” is not a full domain name (it needs a dot and a "
                            "top-level label)."), {"domain": spec}
    if any(not label or len(label) > 63 for label in labels) or len(name) > 253:
        return gettext_noop("“%(domain)s” is not a valid domain name."), {"domain": spec}
    return None


def _mechanism(raw: str, position: int) -> tuple[Term | None, SyntaxProblem | None]:
    def refused(template, params=None):
        return None, SyntaxProblem(position, raw, template, params or {})

    match = _MECHANISM.match(raw)
    qualifier, name, rest = match.group(1) or "+", match.group(2).lower(), match.group(3)
    if name not in MECHANISMS:
        return refused(gettext_noop("“%(term)s” is not an SPF mechanism: use all, include, a, mx, "
                                    "ptr, ip4, ip6 or exists."), {"term": raw})
    term = {"text": raw, "position": position, "kind": "mechanism", "name": name,
            "qualifier": qualifier}
    if name == "all":
        if rest:
            return refused(gettext_noop("“all” takes no value."))
        return Term(**term), None
    if name in ("ip4", "ip6"):
        if not rest.startswith(":"):
            return refused(gettext_noop("“%(name)s” needs a network, such as %(example)s."), {
                "name": name, "example": "ip4:192.0.2.0/24" if name == "ip4" else "ip6:2001:db8::/32"})
        network = rest[1:]
        address, _slash, length = network.partition("/")
        try:
            if name == "ip4":
                if not _IP4.match(address):
                    raise ValueError(address)
                ipaddress.IPv4Network(network, strict=False)
            else:
                if ":" not in address:
                    raise ValueError(address)
                ipaddress.IPv6Network(network, strict=False)
            if _slash and (not length.isdigit() or (len(length) > 1 and length[0] == "0")):
                raise ValueError(length)
        except ValueError:
            return refused(gettext_noop("“%(network)s” is not a valid %(name)s network."),
                           {"network": network, "name": name})
        return Term(**term, network=network), None
    spec, cidr = rest, ""
    if name in ("a", "mx"):
        slash = rest.find("/")
        if slash >= 0:
            spec, cidr = rest[:slash], rest[slash:]
    if spec and not spec.startswith(":"):
        return refused(gettext_noop("Write “%(name)s:” before the domain."), {"name": name})
    spec = spec[1:] if spec else ""
    if name in ("include", "exists") and not spec:
        return refused(gettext_noop("“%(name)s” needs a domain, such as %(name)s:_spf.example.com."),
                       {"name": name})
    if spec or rest.startswith(":"):
        problem = _domain_problem(spec)
        if problem:
            return refused(*problem)
    cidr4 = cidr6 = None
    if cidr:
        lengths = _DUAL_CIDR.match(cidr)
        if not lengths or not cidr.strip("/"):
            return refused(gettext_noop("“%(cidr)s” is not a valid prefix length."), {"cidr": cidr})
        cidr4 = int(lengths.group(1)) if lengths.group(1) else None
        cidr6 = int(lengths.group(2)) if lengths.group(2) else None
        if (cidr4 is not None and cidr4 > 32) or (cidr6 is not None and cidr6 > 128):
            return refused(gettext_noop("“%(cidr)s” is not a valid prefix length."), {"cidr": cidr})
    return Term(**term, domain=spec, cidr4=cidr4, cidr6=cidr6,
                macros=bool(_MACRO.search(spec))), None


def parse(text: str) -> Parsed:
    """The record's terms and its syntax problems (the valid terms are kept, so a record
    with one bad term is still counted)."""
    terms, problems = [], []
    stripped = text.strip()
    if not is_spf(stripped):
        return Parsed(text, (), (SyntaxProblem(1, stripped[:20], gettext_noop(
            "An SPF record starts with “v=spf1” followed by a space."), {}),))
    offset = len(text) - len(text.lstrip())
    seen_modifiers = set()
    for match in re.finditer(r"\S+", stripped[len(VERSION):]):
        raw = match.group(0)
        position = offset + len(VERSION) + match.start() + 1
        modifier = _MODIFIER.match(raw)
        if modifier:  # a mechanism's name is never followed by “=”
            name, value = modifier.group(1).lower(), modifier.group(2)
            if name in seen_modifiers and name in ("redirect", "exp"):
                problems.append(SyntaxProblem(position, raw, gettext_noop(
                    "“%(name)s=” appears twice: a record may have it once."), {"name": name}))
                continue
            seen_modifiers.add(name)
            if name in ("redirect", "exp"):
                problem = _domain_problem(value)
                if problem:
                    problems.append(SyntaxProblem(position, raw, *problem))
                    continue
            terms.append(Term(raw, position, "modifier", name, domain=value,
                              macros=bool(_MACRO.search(value))))
            continue
        term, problem = _mechanism(raw, position)
        if problem:
            problems.append(problem)
        else:
            terms.append(term)
    return Parsed(text, tuple(terms), tuple(problems))


def render_term(term: Term) -> str:
    if term.kind == "modifier":
        return f"{term.name}={term.domain}"
    text = ("" if term.qualifier == "+" else term.qualifier) + term.name
    if term.name in ("ip4", "ip6"):
        return f"{text}:{term.network}"
    if term.domain:
        text += ":" + term.domain.lower() if not term.macros else ":" + term.domain
    if term.cidr4 is not None:
        text += f"/{term.cidr4}"
    if term.cidr6 is not None:
        text += f"//{term.cidr6}"
    return text


def render(terms) -> str:
    return " ".join([VERSION, *(render_term(t) for t in terms)])


# --- what each term means ---------------------------------------------------------------

QUALIFIER_MEANING = {
    "-": gettext_noop("the receiving server rejects the message if the sender is not listed "
                      "in the SPF (recommended)"),
    "~": gettext_noop("the receiving server generally accepts the message if the sender is not "
                      "listed in the SPF, but marks it as suspect"),
    "?": gettext_noop("the receiving server accepts the message even if the sender is not "
                      "listed in the SPF"),
    "+": gettext_noop("every server in the world may send mail for the domain"),
}
QUALIFIER_NAME = {"-": gettext_noop("strict"), "~": gettext_noop("soft"),
                  "?": gettext_noop("neutral"), "+": gettext_noop("pass")}
RESULT = {"+": gettext_noop("pass"), "-": gettext_noop("fail"), "~": gettext_noop("soft fail"),
          "?": gettext_noop("neutral")}

_EXPLAIN = {
    "all": gettext_noop("Every other server: %(result)s."),
    "include": gettext_noop("The servers the SPF record of %(domain)s authorises: %(result)s "
                            "(one DNS lookup, plus those of that record)."),
    "a": gettext_noop("The addresses (A/AAAA) of %(domain)s: %(result)s (one DNS lookup)."),
    "mx": gettext_noop("The mail servers (MX) of %(domain)s: %(result)s (one DNS lookup, then "
                       "one per mail server, 10 at most)."),
    "ptr": gettext_noop("Servers whose reverse name ends in %(domain)s: %(result)s (one DNS "
                        "lookup; slow and deprecated, RFC 7208 §5.5)."),
    "ip4": gettext_noop("The IPv4 addresses %(network)s: %(result)s."),
    "ip6": gettext_noop("The IPv6 addresses %(network)s: %(result)s."),
    "exists": gettext_noop("When the name %(domain)s exists: %(result)s (one DNS lookup)."),
    "redirect": gettext_noop("If nothing above matched, the SPF record of %(domain)s decides "
                             "instead (one DNS lookup)."),
    "exp": gettext_noop("A failed check shows the explanation published at %(domain)s."),
}
_UNKNOWN_MODIFIER = gettext_noop("An unknown modifier “%(name)s”: receivers ignore it.")
_MACRO_NOTE = gettext_noop(" The name holds macros: it depends on each message.")
_CIDR_NOTE = gettext_noop(" Each address widened to a network of /%(cidr)s.")


def explain(term: Term, domain: str) -> tuple[str, dict]:
    """The term's meaning as a template and its parameters; `domain` is the domain whose
    record it is (what a bare `a` or `mx` means)."""
    if term.kind == "modifier" and term.name not in _EXPLAIN:
        return _UNKNOWN_MODIFIER, {"name": term.name}
    template = _EXPLAIN[term.name]
    params = {"domain": term.domain or domain, "network": term.network,
              "result": (RESULT.get(term.qualifier, RESULT["+"]), {})}
    if term.macros:
        template = template + _MACRO_NOTE
    if term.cidr4 is not None or term.cidr6 is not None:
        template = template + _CIDR_NOTE
        params["cidr"] = "/".join(str(c) for c in (term.cidr4, term.cidr6) if c is not None)
    return template, params

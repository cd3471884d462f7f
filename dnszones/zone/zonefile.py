"""Zone files in and out. `parse` reads RFC 1035 master-file text ($ORIGIN, $TTL, owner
inheritance, parentheses, comments) into records checked like single ones, and reports
every error with its line number; `render` writes a zone with its SOA and apex NS."""
from __future__ import annotations

from dataclasses import dataclass, field

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.tokenizer
import dns.ttl

from .records import (
    DEFAULT_TTL,
    VALUE_HELP,
    RecordData,
    RecordError,
    _relative_labels,
    canonical,
    clean_ttl,
    clean_type,
    conflict,
    origin_of,
    zone_text,
)

SOA_REFRESH, SOA_RETRY, SOA_EXPIRE, SOA_MINIMUM = 3600, 900, 1209600, 300
MAX_RECORDS = 10000  # one zone; the push and the page stay fast below this


@dataclass(frozen=True)
class LineMessage:
    line: int
    template: str
    params: dict = field(default_factory=dict)

    def __str__(self):
        return f"line {self.line}: " + self.template % self.params


@dataclass
class ParsedZone:
    records: list[tuple[int, RecordData]] = field(default_factory=list)  # (line, record)
    errors: list[LineMessage] = field(default_factory=list)
    ignored: list[LineMessage] = field(default_factory=list)  # SOA, apex NS: the platform's
    default_ttl: int = DEFAULT_TTL

    @property
    def record_list(self) -> list[RecordData]:
        return [record for _line, record in self.records]


class _Tokenizer(dns.tokenizer.Tokenizer):
    """Remembers the last token it gave, so that skipping a refused line never eats the
    next one when the error came from reading the end of this one."""

    last = None

    def get(self, *args, **kwargs):
        self.last = super().get(*args, **kwargs)
        return self.last


def _skip_line(tokenizer):
    if tokenizer.last is not None and tokenizer.last.is_eol_or_eof():
        return
    while not tokenizer.get().is_eol_or_eof():
        pass


def _owner(text: str, origin: dns.name.Name, zone: dns.name.Name) -> str:
    name = origin if text == "@" else dns.name.from_text(text.lower(), origin=origin)
    if not name.is_subdomain(zone):
        raise RecordError("name", "“%(name)s” is not inside the zone %(zone)s.",
                          {"name": name.to_text(), "zone": zone.to_text().rstrip(".")})
    relative = name.relativize(zone)
    return "@" if relative == dns.name.empty else _relative_labels(relative)


def parse(text: str, zone: str, *, default_ttl: int = DEFAULT_TTL) -> ParsedZone:
    """Every record of the zone file, or the errors (all of them, with line numbers)."""
    zone_name = origin_of(zone)
    result = ParsedZone(default_ttl=default_ttl)
    state = {"origin": zone_name, "owner": None}
    tokenizer = _Tokenizer(text)
    while True:
        try:
            token = tokenizer.get(want_leading=True)
            if token.is_eof():
                break
            if token.is_eol():
                continue
            line = tokenizer.line_number
            _read_line(tokenizer, token, line, zone, zone_name, result, state)
        except dns.exception.DNSException as exc:  # the tokenizer itself: unbalanced quote…
            result.errors.append(LineMessage(tokenizer.line_number, "%(reason)s",
                                             {"reason": str(exc)}))
            break
        if len(result.records) > MAX_RECORDS:
            result.errors.append(LineMessage(line, "A zone holds at most %(max)d records.",
                                             {"max": MAX_RECORDS}))
            break
    return result


def _read_line(tokenizer, token, line, zone, zone_name, result, state) -> bool:
    """One directive or record; False if the line was refused (and skipped)."""
    def refuse(template, **params):
        result.errors.append(LineMessage(line, template, params))
        return False

    if token.is_identifier() and token.value.startswith("$"):
        directive = token.value.upper()
        if directive == "$ORIGIN":
            try:
                state["origin"] = dns.name.from_text(tokenizer.get_string().lower(),
                                                     origin=state["origin"])
                tokenizer.get_eol()
            except dns.exception.DNSException as exc:
                _skip_line(tokenizer)
                return refuse("Bad $ORIGIN: %(reason)s", reason=str(exc))
        elif directive == "$TTL":
            try:
                result.default_ttl = clean_ttl(dns.ttl.from_text(tokenizer.get_string()))
                tokenizer.get_eol()
            except (dns.exception.DNSException, RecordError) as exc:
                _skip_line(tokenizer)
                return refuse("Bad $TTL: %(reason)s", reason=str(exc))
        else:
            _skip_line(tokenizer)
            return refuse("%(directive)s is not supported here: paste the records themselves.",
                          directive=token.value)
        return True

    try:
        if token.is_whitespace():
            if state["owner"] is None:
                _skip_line(tokenizer)
                return refuse("The record has no owner name (the line starts with a space).")
            owner = state["owner"]
            token = tokenizer.get()
            if token.is_eol_or_eof():
                return True
        else:
            owner = _owner(token.value, state["origin"], zone_name)
            state["owner"] = owner
            token = tokenizer.get()
        ttl, rdclass = None, dns.rdataclass.IN
        for _ in range(2):  # TTL and class, in either order
            if ttl is None and token.is_identifier() and token.value[:1].isdigit():
                ttl = dns.ttl.from_text(token.value)
                token = tokenizer.get()
            elif token.is_identifier() and token.value.upper() in ("IN", "CH", "HS", "ANY"):
                rdclass = dns.rdataclass.from_text(token.value)
                token = tokenizer.get()
        if rdclass != dns.rdataclass.IN:
            _skip_line(tokenizer)
            return refuse("Only class IN records are served.")
        if not token.is_identifier():
            raise dns.exception.SyntaxError("the record type is missing")
        rtype = token.value.upper()
        if rtype in ("SOA",) or (rtype == "NS" and owner == "@"):
            _skip_line(tokenizer)
            result.ignored.append(LineMessage(
                line, "The %(type)s record of the apex is the platform's; it is not imported.",
                {"type": rtype}))
            return True
        rtype = clean_type(rtype)
        try:
            rdata = dns.rdata.from_text(rdclass, dns.rdatatype.from_text(rtype), tokenizer,
                                        origin=state["origin"], relativize=False)
        except (dns.exception.DNSException, ValueError, UnicodeError) as exc:
            _skip_line(tokenizer)
            return refuse("Not a valid %(type)s value (%(reason)s). %(help)s", type=rtype,
                          reason=str(exc).rstrip(".") or type(exc).__name__,
                          help=VALUE_HELP[rtype])
        record = RecordData(name=owner, type=rtype,
                            ttl=clean_ttl(ttl if ttl is not None else result.default_ttl),
                            value=canonical(rdata))
    except RecordError as exc:
        _skip_line(tokenizer)
        return refuse(exc.template, **exc.params)
    except (dns.exception.DNSException, ValueError, UnicodeError) as exc:
        _skip_line(tokenizer)
        return refuse("%(reason)s", reason=str(exc) or type(exc).__name__)
    neighbours = state.setdefault("by_name", {}).setdefault(record.name, [])
    problem = conflict(zone, neighbours, record)
    if problem is not None:
        return refuse(problem.template, **problem.params)
    neighbours.append(record)
    result.records.append((line, record))
    return True


# --- out ----------------------------------------------------------------------------------

def soa_value(zone: str, *, nameservers, serial: int, email: str) -> str:
    primary = nameservers[0] if nameservers else f"ns.{origin_of(zone).to_text()}"
    # One label ("hostmaster", the default; "hostmaster." as well) is relative to the zone.
    local = email.rstrip(".")
    contact = email if "." in local and email.endswith(".") else f"{local}.{origin_of(zone).to_text()}"
    return (f"{primary} {contact} {serial} {SOA_REFRESH} {SOA_RETRY} {SOA_EXPIRE} "
            f"{SOA_MINIMUM}")


def _order(record: RecordData):
    labels = [] if record.name == "@" else record.name.split(".")[::-1]
    return (labels, record.type, record.value)


def render(zone: str, records, *, nameservers, serial: int, email: str = "hostmaster",
           default_ttl: int = DEFAULT_TTL) -> str:
    """The zone as a file: $ORIGIN, $TTL, the SOA, the apex NS, then the records (apex first,
    then by name from the right, as a tree)."""
    origin = origin_of(zone).to_text()
    rows = [("@", default_ttl, "SOA", soa_value(zone, nameservers=nameservers, serial=serial,
                                                email=email))]
    rows += [("@", default_ttl, "NS", server) for server in nameservers]
    rows += [(r.name, r.ttl, r.type, r.value) for r in sorted(records, key=_order)]
    width = max(len(name) for name, *_ in rows)
    lines = [f"; zone {zone_text(zone)}", f"$ORIGIN {origin}", f"$TTL {default_ttl}"]
    lines += [f"{name:<{width}} {ttl:>6} IN {rtype:<5} {value}" for name, ttl, rtype, value in rows]
    return "\n".join(lines) + "\n"

"""One DNS record checked and written as the zone stores it: the owner name relative to the
zone (`@` for the apex, lower-case A-labels), the type, the TTL and the rdata in zone-file
text with absolute names (`10 mx1.example.net.`), canonical as dnspython writes it."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.tokenizer

RECORD_TYPES = ("A", "AAAA", "CNAME", "MX", "TXT", "SRV", "CAA", "NS")
# Types whose rdata ends with a host name: where a missing final dot changes the meaning.
TARGET_TYPES = frozenset({"CNAME", "NS", "MX", "SRV"})
DEFAULT_TTL = 3600
TTL_MIN = 60  # below, resolvers ask again for nearly every query
TTL_MAX = 7 * 86400  # a mistake above this lingers in caches for more than a week
VALUE_MAX_CHARS = 4096  # a 4096-bit DKIM key is about 800 characters
TXT_STRING_BYTES = 255  # RFC 1035: one character-string of a TXT record
_LABEL = re.compile(r"^(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)$")

VALUE_HELP = {
    "A": "Enter an IPv4 address such as 192.0.2.1.",
    "AAAA": "Enter an IPv6 address such as 2001:db8::1.",
    "CNAME": "Enter the host name this name is an alias of, such as “www.example.net.”.",
    "MX": "Enter a preference and a mail host, such as “10 mx1.example.net.”.",
    "TXT": "Enter the text; longer than 255 bytes, it is split into several strings for you.",
    "SRV": "Enter priority, weight, port and target, such as “10 5 443 host.example.net.”.",
    "CAA": "Enter flags, tag and value, such as “0 issue \"letsencrypt.org\"”.",
    "NS": "Enter a name server, such as “ns1.example.net.”.",
}


@dataclass(frozen=True, order=True)
class RecordData:
    name: str  # relative to the zone, "@" for the apex
    type: str
    ttl: int
    value: str  # canonical rdata text, absolute names


@dataclass
class RecordError(Exception):
    """A refused record: `field` is the one in error (`name`, `type`, `ttl`, `value`);
    `template % params` the English message."""

    field: str
    template: str
    params: dict = field(default_factory=dict)

    def __str__(self):
        return self.template % self.params


def origin_of(zone: str) -> dns.name.Name:
    return dns.name.from_text(zone.rstrip(".") + ".")


def zone_text(zone: str) -> str:
    """The zone's name without the final dot, for messages."""
    return zone.rstrip(".")


# --- names ------------------------------------------------------------------------------

def _relative_labels(name: dns.name.Name) -> str:
    labels = [label.decode("ascii", "replace") for label in name.labels]
    if any(label == "*" for label in labels[1:]):
        raise RecordError("name", "A wildcard “*” may only be the first label of a name.")
    for label in labels:
        if label != "*" and not _LABEL.match(label):
            raise RecordError(
                "name", "“%(label)s” is not a valid label: use letters, digits, hyphens and "
                "underscores, 63 characters at most, no hyphen at either end.", {"label": label})
    return ".".join(labels)


def clean_name(zone: str, name: str) -> str:
    """The owner name relative to the zone. A name with a final dot is absolute and must be
    inside the zone; without it, it is relative to the zone — so `www.example.org` in the
    zone example.org means www.example.org.example.org., which is refused with the fix."""
    origin = origin_of(zone)
    raw = (name or "").strip()
    if raw in ("", "@") or raw.lower() == origin.to_text():
        return "@"
    try:
        if raw.endswith("."):
            absolute = dns.name.from_text(raw.lower())
            if not absolute.is_subdomain(origin):
                raise RecordError("name", "“%(name)s” is not inside the zone %(zone)s.",
                                  {"name": raw, "zone": zone_text(zone)})
            relative = absolute.relativize(origin)
        else:
            lowered = raw.lower()
            suffix = zone_text(zone).lower()
            if lowered == suffix or lowered.endswith("." + suffix):
                short = lowered[: -len(suffix)].rstrip(".") or "@"
                raise RecordError(
                    "name", "Names are relative to the zone: “%(name)s” means "
                    "%(name)s.%(zone)s. Write “%(short)s”, or “%(name)s.” with a final dot.",
                    {"name": raw, "zone": suffix, "short": short})
            relative = dns.name.from_text(lowered, origin=None)
            if len(relative.derelativize(origin).to_wire()) > 255:
                raise dns.name.NameTooLong
    except RecordError:
        raise
    except (dns.exception.DNSException, UnicodeError, ValueError) as exc:
        raise RecordError("name", "“%(name)s” is not a valid name (%(reason)s).",
                          {"name": raw, "reason": str(exc).rstrip(".")}) from exc
    if relative == dns.name.empty:
        return "@"
    return _relative_labels(relative)


def absolute_name(zone: str, name: str) -> str:
    origin = origin_of(zone).to_text()
    return origin if name == "@" else f"{name}.{origin}"


# --- TTL and type -----------------------------------------------------------------------

def clean_type(rtype: str) -> str:
    value = (rtype or "").strip().upper()
    if value == "SOA":
        raise RecordError("type", "The SOA record is the platform's: its serial changes with "
                                  "every push.")
    if value not in RECORD_TYPES:
        raise RecordError("type", "Choose one of %(types)s.", {"types": ", ".join(RECORD_TYPES)})
    return value


def clean_ttl(ttl) -> int:
    try:
        value = int(ttl)
    except (TypeError, ValueError) as exc:
        raise RecordError("ttl", "Enter the TTL in seconds.") from exc
    if not TTL_MIN <= value <= TTL_MAX:
        raise RecordError("ttl", "The TTL must be between %(min)d and %(max)d seconds.",
                          {"min": TTL_MIN, "max": TTL_MAX})
    return value


# --- values -----------------------------------------------------------------------------

def split_txt(text: str) -> list[bytes]:
    """The text as character-strings of at most 255 bytes, never cutting a UTF-8 character."""
    data = text.encode("utf-8")
    chunks, start = [], 0
    while start < len(data):
        end = min(start + TXT_STRING_BYTES, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # inside a multi-byte character
            end -= 1
        chunks.append(data[start:end])
        start = end
    return chunks or [b""]


def _txt_strings(value: str) -> list[bytes]:
    """Quoted input keeps its strings (a long one is split); anything else is one text."""
    if not value.startswith('"'):
        return split_txt(value)
    strings = []
    tokenizer = dns.tokenizer.Tokenizer(value)
    while True:
        token = tokenizer.get()
        if token.is_eol_or_eof():
            break
        if not (token.is_quoted_string() or token.is_identifier()):
            raise dns.exception.SyntaxError("unexpected token")
        data = token.unescape_to_bytes().value
        strings += [data[i:i + TXT_STRING_BYTES] for i in range(0, len(data), TXT_STRING_BYTES)] or [b""]
    return strings


def txt_text(value: str) -> str:
    """A TXT record's strings joined, as people read it (`v=spf1 include:… -all`)."""
    try:
        rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, value)
    except dns.exception.DNSException:
        return value
    return b"".join(rdata.strings).decode("utf-8", "replace")


def shown_value(rtype: str, value: str) -> str:
    return txt_text(value) if rtype == "TXT" else value


def is_spf(rtype: str, value: str) -> bool:
    if rtype != "TXT":
        return False
    text = txt_text(value).lower()
    return text == "v=spf1" or text.startswith("v=spf1 ")


def canonical(rdata: dns.rdata.Rdata) -> str:
    """Names lower-cased (RFC 4034 §6.2) and absolute, so two values compare as text."""
    wire = rdata.to_digestable()
    return dns.rdata.from_wire(rdata.rdclass, rdata.rdtype, wire, 0, len(wire)).to_text()


def _check_target(zone: str, rtype: str, value: str) -> None:
    """A target name without a final dot is relative to the zone. One label (`mail`) is
    plainly a host of the zone; a dotted one (`mx1.example.net`) is nearly always meant as
    absolute, so it is refused with both ways of writing it."""
    target = value.split()[-1] if value.split() else ""
    if not target or target.endswith(".") or target == "@" or "." not in target:
        return
    raise RecordError(
        "value", "“%(target)s” has no final dot, so it means %(target)s.%(zone)s. Write "
        "“%(target)s.” for the host %(target)s, or a name without dots for a host of this zone.",
        {"target": target, "zone": zone_text(zone)})


def parse_value(zone: str, rtype: str, value: str) -> dns.rdata.Rdata:
    if rtype == "TXT":
        return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, _txt_strings(value))
    return dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rtype), value,
                               origin=origin_of(zone), relativize=False)


def clean_value(zone: str, rtype: str, value: str) -> str:
    raw = (value or "").strip()
    if not raw:
        raise RecordError("value", "Enter the record's value. %(help)s", {"help": VALUE_HELP[rtype]})
    if len(raw) > VALUE_MAX_CHARS:
        raise RecordError("value", "At most %(max)d characters.", {"max": VALUE_MAX_CHARS})
    if rtype in TARGET_TYPES:
        _check_target(zone, rtype, raw)
    try:
        rdata = parse_value(zone, rtype, raw)
    except (dns.exception.DNSException, ValueError, UnicodeError) as exc:
        raise RecordError("value", "“%(value)s” is not a valid %(type)s value. %(help)s",
                          {"value": raw[:100], "type": rtype, "help": VALUE_HELP[rtype]}) from exc
    return canonical(rdata)


def clean_record(zone: str, *, name: str, type: str, ttl, value: str) -> RecordData:
    """The record as the zone stores it, or RecordError on the first field in error."""
    rtype = clean_type(type)
    return RecordData(name=clean_name(zone, name), type=rtype, ttl=clean_ttl(ttl),
                      value=clean_value(zone, rtype, value))


# --- records beside each other ------------------------------------------------------------

def conflict(zone: str, others, record: RecordData) -> RecordError | None:
    """Why `record` cannot join `others` (the zone's other records; only those of the same
    name matter), or None. The apex always holds the SOA and the platform's NS records."""
    here = [other for other in others if other.name == record.name]
    where = {"name": record.name, "zone": zone_text(zone)}
    if record.name == "@" and record.type == "NS":
        return RecordError("type", "The apex NS records are the platform's name servers; they "
                                   "are set for you.")
    if record.type == "CNAME" and record.name == "@":
        return RecordError("type", "A CNAME cannot be at the apex: the apex holds the zone's SOA "
                                   "and NS records (RFC 1034).")
    if record.type == "CNAME" and here:
        return RecordError("type", "A CNAME cannot sit beside other records: “%(name)s” already "
                                   "has a %(other)s record (RFC 1034).",
                           {**where, "other": here[0].type})
    cname = next((other for other in here if other.type == "CNAME"), None)
    if cname is not None:
        return RecordError("type", "“%(name)s” is a CNAME: no other record may sit beside it "
                                   "(RFC 1034).", where)
    if any(o.type == record.type and o.value == record.value for o in here):
        return RecordError("value", "This record already exists.")
    if is_spf(record.type, record.value) and any(is_spf(o.type, o.value) for o in here):
        return RecordError("value", "“%(name)s” already has an SPF record: several SPF records "
                                    "cause errors (RFC 7208). Merge them into one.", where)
    return None

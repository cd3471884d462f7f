"""Reading a message's headers for the header viewer: sender, recipients, date, subject,
the Received chain as a timeline with the delay of each hop, and the SPF / DKIM / DMARC
results of Authentication-Results. Pure: no Django, no database; a test imports it alone.

The input is hostile by nature (the viewer exists to look at suspicious mail): every text
that comes out has its control, bidirectional and invisible characters replaced by a
visible marker (`<U+202E>`), so that what is shown is what the message says, not what it
wants the reader to see; long values are cut. HTML escaping is the page's job (the
templates escape every value); nothing here produces markup."""
import re
import unicodedata
from datetime import UTC, datetime, tzinfo
from email import policy
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parsedate_to_datetime

from .limits import HEADER_VALUE_SHOWN_CHARS, HEADERS_SHOWN, RECEIVED_HOPS_SHOWN

# Characters that change how the text around them is displayed without being seen: the
# bidirectional controls (U+202A–U+202E, U+2066–U+2069, the marks), zero-width ones, the
# byte order mark. Categories Cc (controls, NUL), Cf (format) and Cs (the lone surrogates
# the email package makes of undecodable bytes) are all made visible.
_KEEP = {"\t"}
AUTH_METHODS = ("spf", "dkim", "dmarc")


def visible(text: str, *, limit: int = HEADER_VALUE_SHOWN_CHARS) -> str:
    """The text with every invisible or control character as `<U+XXXX>`, cut to `limit`
    characters (the cut said, with how much was left out)."""
    text = str(text)
    cut = ""
    if len(text) > limit:
        cut = f" … [{len(text) - limit} more characters]"
        text = text[:limit]
    out = []
    for ch in text:
        if ch not in _KEEP and unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp", "Co", "Cn"):
            out.append(f"<U+{ord(ch):04X}>")
        else:
            out.append(ch)
    return "".join(out) + cut


def _utf8(value: str) -> str:
    """The email package reads header bytes as ASCII, undecodable bytes as surrogates:
    raw UTF-8 headers (RFC 6532, common) become their characters again; bytes that are
    not UTF-8 stay surrogates, which `visible` marks."""
    try:
        return value.encode("ascii", "surrogateescape").decode("utf-8", "surrogateescape")
    except UnicodeError:
        return value


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n[ \t]+", " ", value).replace("\r", "").replace("\n", " ").strip()


def decoded(value: str) -> str:
    """A header value unfolded, its RFC 2047 encoded words decoded where they decode."""
    value = _unfold(value)
    try:
        return str(make_header(decode_header(value)))
    except Exception:  # any malformed encoded word: the raw text, which is still shown
        return value


def parse_date(value: str | None) -> datetime | None:
    """An RFC 5322 date as an aware datetime; None when it is missing or does not parse
    (or names a moment no datetime holds)."""
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(_unfold(value))
    except Exception:
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:  # "-0000": the time is UTC, the zone unknown (RFC 5322 §3.3)
        moment = moment.replace(tzinfo=UTC)
    try:
        moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return moment


def _local(moment: datetime | None, zone: tzinfo) -> datetime | None:
    if moment is None:
        return None
    try:
        return moment.astimezone(zone)
    except (OverflowError, ValueError):
        return None


def addresses(value: str) -> list[dict]:
    """The addresses of an address header, each {"name", "address"}, made visible."""
    try:
        pairs = getaddresses([decoded(value)])
    except Exception:
        pairs = [("", decoded(value))]
    return [{"name": visible(name, limit=200), "address": visible(address, limit=320)}
            for name, address in pairs if name or address][:100]


_RECEIVED_PART = re.compile(r"\b(from|by|with|id|for|via)\s+(.+?)(?=\s+\b(?:from|by|with|id|for|via)\s|$)",
                            re.IGNORECASE | re.DOTALL)
_IP = re.compile(r"\[(?:IPv6:)?([0-9A-Fa-f:.]+)\]")


def received_hop(value: str) -> dict:
    """One Received header: who handed the message to whom (`from`, `by`), how (`with`),
    the address in brackets of the sending host, and its date."""
    text = _unfold(value)
    clauses, _sep, date_text = text.rpartition(";")
    if not _sep:
        clauses, date_text = text, ""
    # Comments hold the sending host's real name and address: keep them in the clause.
    parts = {}
    for match in _RECEIVED_PART.finditer(clauses):
        parts.setdefault(match.group(1).lower(), match.group(2).strip())
    ip = _IP.search(parts.get("from", ""))
    return {"from": visible(parts.get("from", ""), limit=300), "by": visible(parts.get("by", ""), limit=300),
            "with": visible(parts.get("with", ""), limit=100),
            "ip": ip.group(1) if ip else "",
            "date_text": visible(date_text.strip(), limit=100), "time": parse_date(date_text),
            "raw": visible(text)}


def _strip_comments(text: str) -> str:
    previous = None
    while previous != text:  # nested comments, innermost first
        previous, text = text, re.sub(r"\([^()]*\)", " ", text)
    return text


_RESULT = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=\s*([A-Za-z0-9_-]+)(.*)$", re.DOTALL)


def authentication_results(value: str, ours: frozenset[str]) -> list[dict]:
    """The SPF, DKIM and DMARC results of one Authentication-Results header (RFC 8601),
    each with the authserv-id that claims it and whether that id is one of ours: only our
    own servers' verdicts are verified (our MX removes headers claiming our id on arrival,
    RFC 8601 §5); any other is what a server we do not know says."""
    text = _strip_comments(_unfold(value))
    head, _sep, rest = text.partition(";")
    authserv_id = head.strip().split(" ")[0].strip().lower() if head.strip() else ""
    results = []
    for resinfo in rest.split(";"):
        match = _RESULT.match(resinfo)
        if not match or match.group(1).lower() not in AUTH_METHODS:
            continue
        results.append({
            "method": match.group(1).lower(),
            "result": visible(match.group(2).lower(), limit=40),
            "properties": visible(" ".join(match.group(3).split()), limit=500),
            "authserv_id": visible(authserv_id, limit=255),
            "verified": authserv_id in ours,
            "before_us": False,
        })
    return results


def _trusted_results(items: list[tuple[str, str]], ours: frozenset[str]) -> list[dict]:
    """The results of every Authentication-Results header, top to bottom. One that claims
    our id but sits below a Received header written by another server was in the message
    before it reached us (a sender's forgery): it is not verified, whatever it claims."""
    results, foreign_hop_above, seen = [], False, 0
    for name, value in items:
        key = name.lower()
        if key == "received":
            by = received_hop(value)["by"].split(" ")[0].lower()
            foreign_hop_above = foreign_hop_above or (bool(by) and by not in ours)
        elif key == "authentication-results" and seen < 50:
            seen += 1
            for result in authentication_results(value, ours):
                if foreign_hop_above and result["verified"]:
                    result["verified"] = False
                    result["before_us"] = True
                results.append(result)
    return results


def _hops(received: list[str], zone: tzinfo) -> list[dict]:
    """The Received chain in the order the message travelled (the last header first
    written), each hop with its local time and its delay since the hop before (None when
    either time is unknown; negative when the clocks disagree)."""
    hops = [received_hop(value) for value in reversed(received[:RECEIVED_HOPS_SHOWN])]
    previous = None
    for position, hop in enumerate(hops, start=1):
        hop["position"] = position
        hop["local_time"] = _local(hop["time"], zone)
        delay = None
        if hop["time"] is not None and previous is not None:
            try:
                delay = (hop["time"] - previous).total_seconds()
            except (OverflowError, ValueError):
                delay = None
        hop["delay_seconds"] = None if delay is None else int(delay)
        hop["delay_text"] = "" if delay is None else delay_text(int(delay))
        if hop["time"] is not None:
            previous = hop["time"]
    return hops


def delay_text(seconds: int) -> str:
    """A delay in units written alike in English and French: "4 s", "2 min 5 s", "51 h 01
    min"; "-" first when the clocks disagree."""
    sign = "-" if seconds < 0 else ""
    left = abs(seconds)
    if left < 60:
        return f"{sign}{left} s"
    if left < 3600:
        return f"{sign}{left // 60} min {left % 60} s"
    return f"{sign}{left // 3600} h {left % 3600 // 60:02d} min"


def header_block(raw: bytes) -> bytes:
    """The header part of a message (up to the first empty line), what is pasted when
    only the headers are at hand."""
    match = re.search(rb"\r?\n\r?\n", raw)
    return raw[:match.start()] + b"\n" if match else raw


def analyse(raw: bytes, *, zone: tzinfo, ours: frozenset[str]) -> dict:
    """Everything the header viewer shows about a message (its bytes, or pasted headers
    encoded as UTF-8). Never raises on what a message contains."""
    message = BytesHeaderParser(policy=policy.default).parsebytes(raw)
    # Raw values: the policy's header objects raise on some malformed headers when built.
    items = [(_utf8(str(name)), _utf8(str(value))) for name, value in message.raw_items()]

    def first(name):
        return next((value for key, value in items if key.lower() == name), None)

    def every(name):
        return [value for key, value in items if key.lower() == name]

    date_value = first("date")
    date = parse_date(date_value)
    recipients = {kind: [a for value in every(kind) for a in addresses(value)] for kind in ("to", "cc", "bcc")}
    results = _trusted_results(items, ours)
    hops = _hops(every("received"), zone)
    return {
        "sender": [a for value in every("from")[:5] for a in addresses(value)],
        "reply_to": [a for value in every("reply-to")[:5] for a in addresses(value)],
        "return_path": visible(decoded(first("return-path") or ""), limit=320),
        "recipients": recipients,
        "subject": visible(decoded(first("subject") or "")),
        "message_id": visible(decoded(first("message-id") or ""), limit=500),
        "date": _local(date, zone),
        "date_text": visible(decoded(date_value or ""), limit=100),
        "hops": hops,
        "hops_total": len(every("received")),
        "total_delay_seconds": _total_delay(hops),
        "authentication": results,
        "headers": [{"name": visible(name, limit=100), "value": visible(decoded(value))}
                    for name, value in items[:HEADERS_SHOWN]],
        "headers_total": len(items),
        "defects": [visible(type(defect).__name__, limit=100) for defect in message.defects][:20],
    }


def _total_delay(hops: list[dict]) -> int | None:
    times = [hop["time"] for hop in hops if hop["time"] is not None]
    if len(times) < 2:
        return None
    try:
        return int((times[-1] - times[0]).total_seconds())
    except (OverflowError, ValueError):
        return None


def source_of(raw: bytes) -> dict:
    """What an abuse report says of a message's arrival (RFC 5965 §3.2): the envelope
    sender (Return-Path), the IP address of the host that handed it to our server and
    when (the topmost Received header, written by our own server)."""
    message = BytesHeaderParser(policy=policy.default).parsebytes(raw)
    items = [(_utf8(str(name)).lower(), _utf8(str(value))) for name, value in message.raw_items()]
    received = [value for key, value in items if key == "received"]
    top = received_hop(received[0]) if received else None
    return_path = next((decoded(v) for k, v in items if k == "return-path"), "")
    return {"mail_from": return_path.strip(), "source_ip": top["ip"] if top else "",
            "arrival": top["time"] if top else None,
            "subject": decoded(next((v for k, v in items if k == "subject"), "")),
            "sender": decoded(next((v for k, v in items if k == "from"), ""))}


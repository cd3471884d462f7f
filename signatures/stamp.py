"""Stamping a signature on one message (pure: bytes in, bytes out; no Django, no I/O).

The milter on the submission service (signatures/milter.py) hands over the message as
submitted and applies what this returns: the new body, the top-level headers to set, the
marker header to add. `stamping.py` says *which* signature an address stamps; this module
says *how* it goes into the MIME structure (BACKENDS-2.md §1):

* only the body leaves are edited — the first text/plain and the first text/html of the
  message's body (a single part, the parts of multipart/alternative, the first part of
  multipart/mixed or multipart/related); attachments, other parts, preambles and
  boundaries are left byte for byte, because the edit is made on the raw bytes of the
  leaf and nowhere else;
* the plain signature (it starts with the "-- " delimiter line) and the HTML one go above
  the quoted history of a reply (Gmail's, Thunderbird's, Outlook's and Apple Mail's
  shapes, and `On … wrote:` / `>` quoting), else at the end (HTML: before `</body>`);
* a leaf keeps its charset and transfer encoding when the signature fits them, else it
  becomes UTF-8 quoted-printable (never a raw line over SMTP's 998 octets);
* never twice (the marker header), never into what a change would break: a signed or
  encrypted message (S/MIME, PGP) or a calendar invitation;
* anything it cannot read with certainty (an unknown charset, a body that does not
  decode) is left as it came: a message unstamped is better than a message damaged.
"""
from __future__ import annotations

import base64
import binascii
import quopri
import re
from dataclasses import dataclass, field
from email import quoprimime
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32

MARKER_HEADER = "X-Mail-Manager-Signature"
# Changing a byte of these breaks a signature (S/MIME, PGP) or an invitation (Outlook
# matches the calendar part to the text parts).
UNTOUCHABLE = frozenset({"multipart/signed", "multipart/encrypted", "application/pkcs7-mime",
                         "application/x-pkcs7-mime", "application/pgp-encrypted",
                         "text/calendar"})
MAX_LINE = 998  # RFC 5322 §2.1.1, without the CRLF
MAX_DEPTH = 20  # MIME nesting followed; deeper is left alone

# Where a reply's quoted history starts, so the signature goes above it.
_HTML_QUOTE = re.compile(
    r"""<div[^>]*\bclass=["']?(?:gmail_quote|moz-cite-prefix)\b"""
    r"""|<div[^>]*\bid=["']?(?:appendonsend|divRplyFwdMsg)\b"""
    r"""|<blockquote[^>]*\btype=["']?cite\b""", re.I)
_HTML_BODY_END = re.compile(r"</body\s*>", re.I)
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_TEXT_QUOTE = re.compile(
    r"^(?:On .{1,300} wrote:|Le .{1,300} a écrit ?:|Am .{1,300} schrieb .{0,200}:"
    r"|-{2,} ?(?:Original Message|Message d'origine|Forwarded message|Message transféré) ?-{2,}"
    r"|>.*?)[ \t\r]*$",
    re.M | re.I)
_REPLY_SUBJECT = re.compile(r"^\s*(?:re|fwd?|tr|aw|wg)\s*(?:\[\d+\])?\s*:", re.I)


@dataclass(frozen=True)
class Signature:
    html: str
    text: str
    marker: str  # the marker header's value: which signature was stamped (its version)


@dataclass(frozen=True)
class Outcome:
    """What to do to the message. `body` None: leave it as it is (`reason` says why)."""

    body: bytes | None = None
    set_headers: tuple[tuple[str, str], ...] = ()  # top-level headers to set (or add)
    add_headers: tuple[tuple[str, str], ...] = ()
    reason: str = ""
    stamped: tuple[str, ...] = field(default=())  # the content types stamped

    @property
    def changed(self) -> bool:
        return self.body is not None


class _Skip(Exception):
    pass


@dataclass
class _Part:
    start: int  # the part's first header byte
    body_start: int
    end: int
    headers: Message
    children: list[_Part] = field(default_factory=list)

    @property
    def content_type(self) -> str:
        return self.headers.get_content_type()

    @property
    def is_attachment(self) -> bool:
        return (self.headers.get("Content-Disposition") or "").strip().lower().startswith(
            "attachment")


# --- reading the structure -------------------------------------------------------------

def _header_end(data: bytes, start: int, end: int) -> int:
    """Where the body of the part data[start:end] starts (after its blank line)."""
    if data.startswith(b"\r\n", start):
        return start + 2
    if data.startswith(b"\n", start):
        return start + 1
    match = _BLANK_LINE.search(data, start, end)
    return end if match is None else match.end()


def _parse(data: bytes, start: int, end: int, depth: int = 0) -> _Part:
    body_start = _header_end(data, start, end)
    headers = BytesHeaderParser(policy=compat32).parsebytes(data[start:body_start])
    part = _Part(start, body_start, end, headers)
    if part.content_type.startswith("multipart/"):
        if depth >= MAX_DEPTH:
            raise _Skip("too deeply nested")
        boundary = headers.get_boundary()
        if not boundary:
            raise _Skip("multipart without a boundary")
        for child_start, child_end in _child_ranges(data, body_start, end, boundary):
            part.children.append(_parse(data, child_start, child_end, depth + 1))
    return part


def _child_ranges(data: bytes, start: int, end: int, boundary: str):
    """The byte ranges of a multipart body's parts, without the line break that belongs
    to the next delimiter (RFC 2046 §5.1.1)."""
    delimiter = re.compile(rb"^--" + re.escape(boundary.encode("latin-1", "replace"))
                           + rb"(--)?[ \t]*\r?$", re.M)
    ranges, open_at = [], None
    for match in delimiter.finditer(data, start, end):
        if match.start() != start and data[match.start() - 1:match.start()] != b"\n":
            continue
        if open_at is not None:
            close = match.start()
            close -= 2 if data[close - 2:close] == b"\r\n" else 1
            ranges.append((open_at, max(open_at, close)))
        if match.group(1):
            return ranges
        line_end = data.find(b"\n", match.end(), end)
        open_at = end if line_end < 0 else line_end + 1
    raise _Skip("multipart without its closing delimiter")


def _untouchable(part: _Part) -> str | None:
    if part.content_type in UNTOUCHABLE:
        return part.content_type
    for child in part.children:
        found = _untouchable(child)
        if found:
            return found
    return None


def _body_leaves(part: _Part) -> list[_Part]:
    """The text leaves that make the message's body, in order."""
    if part.is_attachment:
        return []
    kind = part.content_type
    if kind == "multipart/alternative":
        return [leaf for child in part.children for leaf in _body_leaves(child)]
    if kind.startswith("multipart/"):
        # mixed, related, report…: the body is the first part, the rest is attached.
        return _body_leaves(part.children[0]) if part.children else []
    if kind in ("text/plain", "text/html"):
        return [part]
    return []


def is_reply(headers: Message) -> bool:
    return bool(headers.get("In-Reply-To") or headers.get("References")
                or _REPLY_SUBJECT.match(str(headers.get("Subject") or "")))


# --- editing one leaf ------------------------------------------------------------------

def _decode(payload: bytes, cte: str) -> bytes:
    if cte == "base64":
        try:
            return base64.b64decode(re.sub(rb"[^A-Za-z0-9+/=]", b"", payload) + b"==",
                                    validate=False)
        except (binascii.Error, ValueError) as exc:
            raise _Skip("a body that does not decode") from exc
    if cte == "quoted-printable":
        return quopri.decodestring(payload)
    if cte in ("", "7bit", "8bit", "binary"):
        return payload
    raise _Skip(f"unknown transfer encoding {cte!r}")


def _encode(data: bytes, cte: str, eol: bytes) -> bytes:
    if cte == "base64":
        return base64.encodebytes(data).replace(b"\n", eol)
    if cte == "quoted-printable":
        text = data.decode("latin-1").replace("\r\n", "\n")
        encoded = quoprimime.body_encode(text, maxlinelen=76, eol="\n").encode("latin-1")
        if data.endswith(b"\n") and not encoded.endswith(b"\n"):
            encoded += b"\n"
        return encoded.replace(b"\n", eol)
    return data


def _charset(headers: Message) -> str:
    charset = str(headers.get_param("charset", "us-ascii") or "us-ascii").strip().lower()
    try:
        "".encode(charset)
        b"".decode(charset)
    except LookupError as exc:
        raise _Skip(f"unknown charset {charset!r}") from exc
    return charset


def _insert_text(text: str, signature: str, eol: str) -> str:
    signature = signature.replace("\r\n", "\n").replace("\n", eol).rstrip() + eol
    quote = _TEXT_QUOTE.search(text)
    if quote is not None:
        before, after = text[:quote.start()], text[quote.start():]
        return before.rstrip() + eol + eol + signature + eol + after
    body = text.rstrip("\r\n")
    return (body + eol + eol if body else "") + signature


def _insert_html(markup: str, signature: str, eol: str) -> str:
    block = f"{eol}<div class=\"mm-signature\">{eol}{signature.strip()}{eol}</div>{eol}"
    quote = _HTML_QUOTE.search(markup)
    if quote is None:
        ends = list(_HTML_BODY_END.finditer(markup))
        at = ends[-1].start() if ends else len(markup.rstrip("\r\n"))
    else:
        at = quote.start()
    return markup[:at] + block + markup[at:]


def _content_type_with(headers: Message, charset: str) -> str:
    copy = Message()
    copy["Content-Type"] = headers.get("Content-Type") or "text/plain"
    copy.set_param("charset", charset)
    return copy["Content-Type"]


def _rewrite_leaf(data: bytes, leaf: _Part, signature: Signature, eol: bytes):
    """(new payload, {header: value} to change on the leaf) or None to leave it."""
    cte = str(leaf.headers.get("Content-Transfer-Encoding") or "").strip().lower()
    charset = _charset(leaf.headers)
    payload = data[leaf.body_start:leaf.end]
    try:
        text = _decode(payload, cte).decode(charset)
    except UnicodeDecodeError as exc:
        raise _Skip("a body that is not in its charset") from exc
    sep = eol.decode()
    if leaf.content_type == "text/html":
        new_text = _insert_html(text, signature.html, sep)
    else:
        new_text = _insert_text(text, signature.text, sep)
    changes: dict[str, str] = {}
    try:
        new_bytes = new_text.encode(charset)
    except UnicodeEncodeError:
        charset = "utf-8"
        new_bytes = new_text.encode(charset)
        changes["Content-Type"] = _content_type_with(leaf.headers, charset)
    if cte in ("", "7bit", "8bit", "binary"):
        needs_8bit = any(b > 127 for b in new_bytes)
        long_line = any(len(line) > MAX_LINE for line in new_bytes.split(b"\n"))
        if long_line or (needs_8bit and cte in ("", "7bit")):
            cte = "quoted-printable"
            changes["Content-Transfer-Encoding"] = cte
    return _encode(new_bytes, cte, eol), changes


def _leaf_header_block(data: bytes, leaf: _Part, changes: dict[str, str], eol: bytes) -> bytes:
    """The leaf's header block with `changes` made: the other header lines as they were."""
    block = data[leaf.start:leaf.body_start]
    lines = re.split(rb"(?<=\n)", block)
    out, skipping = [], False
    wanted = {name.lower(): value for name, value in changes.items()}
    for line in lines:
        if not line:
            continue
        if line[:1] in (b" ", b"\t") and skipping:
            continue
        skipping = False
        name = line.split(b":", 1)[0].strip().lower().decode("latin-1")
        if b":" in line and name in wanted:
            skipping = True
            continue
        out.append(line)
    blank = out.pop() if out and out[-1].strip() == b"" else eol
    added = b"".join(f"{name}: {value}".encode("latin-1") + eol for name, value in changes.items())
    return b"".join(out) + added + blank


# --- the whole message -----------------------------------------------------------------

def _eol(data: bytes) -> bytes:
    return b"\r\n" if b"\r\n" in data[:65536] else b"\n"


def stamp(raw: bytes, signature: Signature, *, on_replies: bool = True) -> Outcome:
    """What to change in the message `raw` (headers, blank line, body, as submitted) to
    stamp `signature` on it. Never raises on a message, however malformed."""
    try:
        return _stamp(raw, signature, on_replies=on_replies)
    except _Skip as exc:
        return Outcome(reason=str(exc))
    except (ValueError, LookupError, IndexError, TypeError, RecursionError) as exc:
        return Outcome(reason=f"unreadable message ({type(exc).__name__})")


def _stamp(raw: bytes, signature: Signature, *, on_replies: bool) -> Outcome:
    if not (signature.html.strip() or signature.text.strip()):
        return Outcome(reason="empty signature")
    root = _parse(raw, 0, len(raw))
    headers = root.headers
    if headers.get(MARKER_HEADER) is not None:
        return Outcome(reason="already stamped")
    if not on_replies and is_reply(headers):
        return Outcome(reason="a reply, and replies are not stamped")
    blocked = _untouchable(root)
    if blocked:
        return Outcome(reason=f"{blocked} is never changed")
    leaves, seen = [], set()
    for leaf in _body_leaves(root):
        if leaf.content_type not in seen:
            seen.add(leaf.content_type)
            leaves.append(leaf)
    wanted = [leaf for leaf in leaves
              if (signature.html.strip() if leaf.content_type == "text/html"
                  else signature.text.strip())]
    if not wanted:
        return Outcome(reason="no text body to stamp")
    eol = _eol(raw)
    edits, top_changes = [], {}
    for leaf in wanted:
        payload, changes = _rewrite_leaf(raw, leaf, signature, eol)
        if leaf is root:
            top_changes = changes
            edits.append((leaf.body_start, leaf.end, payload))
        elif changes:
            edits.append((leaf.start, leaf.end, _leaf_header_block(raw, leaf, changes, eol)
                          + payload))
        else:
            edits.append((leaf.body_start, leaf.end, payload))
    body = bytearray(raw)
    for start, end, replacement in sorted(edits, reverse=True):
        body[start:end] = replacement
    set_headers = list(top_changes.items())
    if top_changes and headers.get("MIME-Version") is None:
        set_headers.append(("MIME-Version", "1.0"))
    return Outcome(body=bytes(body[root.body_start:]), set_headers=tuple(set_headers),
                   add_headers=((MARKER_HEADER, signature.marker),),
                   stamped=tuple(leaf.content_type for leaf in wanted))


def apply_outcome(raw: bytes, outcome: Outcome) -> bytes:
    """The whole message as the milter's changes leave it (for tests, the benchmark and a
    deployment's own checks): headers set in place or added, the marker added at the end
    of the header, the new body."""
    if not outcome.changed:
        return raw
    eol = _eol(raw)
    body_start = _header_end(raw, 0, len(raw))
    head = raw[:body_start]
    blank = eol if head.endswith(b"\n\n") or head.endswith(b"\r\n\r\n") else b""
    if blank:
        head = head[:-len(blank)]
    lines = re.split(rb"(?<=\n)", head)
    lines = [line for line in lines if line]
    for name, value in outcome.set_headers:
        new_line = f"{name}: {value}".encode("latin-1") + eol
        out, replaced, skipping = [], False, False
        for line in lines:
            if line[:1] in (b" ", b"\t") and skipping:
                continue
            skipping = False
            if line.split(b":", 1)[0].strip().lower() == name.lower().encode() and not replaced:
                out.append(new_line)
                replaced = skipping = True
                continue
            out.append(line)
        if not replaced:
            out.append(new_line)
        lines = out
    for name, value in outcome.add_headers:
        lines.append(f"{name}: {value}".encode("latin-1") + eol)
    return b"".join(lines) + (blank or eol) + outcome.body

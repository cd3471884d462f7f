"""An abuse report in the Abuse Reporting Format (RFC 5965): a multipart/report of type
feedback-report with a human-readable part, the machine-readable `message/feedback-report`
part (`Feedback-Type: fraud` for phishing), and the reported message itself. Pure: bytes
in, bytes out.

The report is written by hand, as bytes, not through the email package: serialising a
parsed message re-folds and re-encodes its headers, and a single changed byte breaks the
original's DKIM signature, which is what the abuse desk checks first. The embedded
original is therefore exactly the bytes received, and `embedded_original` gives them back."""
import re
import secrets
from datetime import datetime
from email.utils import format_datetime

CRLF = b"\r\n"


def _header_text(value: str) -> bytes:
    """A value for a header we write: one line, ASCII (other characters as "?"), so an
    attacker's subject cannot add headers of its own to the report."""
    value = re.sub(r"[\x00-\x1f\x7f]+", " ", value).strip()
    return value.encode("ascii", "replace")[:900]


def _boundary(*parts: bytes) -> bytes:
    while True:
        boundary = b"=_report_" + secrets.token_hex(16).encode()
        if not any(boundary in part for part in parts):
            return boundary


def _transfer_encoding(body: bytes) -> bytes:
    """What the embedded message's bytes are, as RFC 2045 names it: a message/rfc822
    part may not be base64-encoded (RFC 2046 §5.2.1), so its bytes go as they are."""
    if b"\x00" in body or any(len(line) > 998 for line in body.split(b"\n")):
        return b"binary"
    return b"8bit" if any(byte > 127 for byte in body) else b"7bit"


def build_report(*, original: bytes, headers_only: bool, from_address: str, to_address: str,
                 user_agent: str, reported_at: datetime, message_id: str, human_text: str,
                 mail_from: str = "", arrival: datetime | None = None, source_ip: str = "",
                 reported_domain: str = "") -> bytes:
    """The report's bytes, lines ended by CRLF except inside the original (as received)."""
    feedback = [b"Feedback-Type: fraud", b"User-Agent: " + _header_text(user_agent), b"Version: 1"]
    if mail_from:
        feedback.append(b"Original-Mail-From: " + _header_text(mail_from))
    feedback.append(b"Arrival-Date: " + _header_text(format_datetime(arrival or reported_at)))
    if source_ip:
        feedback.append(b"Source-IP: " + _header_text(source_ip))
    if reported_domain:
        feedback.append(b"Reported-Domain: " + _header_text(reported_domain))
    human = human_text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
    boundary = _boundary(original, human)
    embedded_type = b"text/rfc822-headers" if headers_only else b"message/rfc822"
    lines = [
        b"From: " + _header_text(from_address),
        b"To: " + _header_text(to_address),
        b"Subject: " + _header_text("Phishing report (fraud)"),
        b"Date: " + _header_text(format_datetime(reported_at)),
        b"Message-ID: " + _header_text(message_id),
        b"MIME-Version: 1.0",
        b'Content-Type: multipart/report; report-type=feedback-report; boundary="' + boundary + b'"',
        b"",
        b"This is an abuse report in the Abuse Reporting Format (RFC 5965).",
        b"--" + boundary,
        b"Content-Type: text/plain; charset=utf-8",
        b"Content-Transfer-Encoding: 8bit",
        b"",
        human,
        b"--" + boundary,
        b"Content-Type: message/feedback-report",
        b"",
        *feedback,
        b"",
        b"--" + boundary,
        b"Content-Type: " + embedded_type,
        b"Content-Transfer-Encoding: " + _transfer_encoding(original),
        b"Content-Disposition: inline",
        b"",
    ]
    # The CRLF before the closing delimiter belongs to the delimiter (RFC 2046 §5.1.1): the
    # part's body is the original, to its last byte.
    return CRLF.join(lines) + CRLF + original + CRLF + b"--" + boundary + b"--" + CRLF


def embedded_original(report: bytes) -> bytes:
    """The bytes of the reported message inside a report built by `build_report`."""
    boundary = re.search(rb'boundary="([^"]+)"', report).group(1)
    delimiter = b"--" + boundary
    parts = report.split(CRLF + delimiter)
    last = parts[3]  # preamble, human part, feedback part, the original, closing "--"
    _headers, _sep, body = last.partition(CRLF + CRLF)
    return body


def wire_form(report: bytes) -> bytes:
    """The report as SMTP carries it: every line ended by CRLF. RFC 5321 §2.3.8 forbids a
    bare LF on the wire (strict relays refuse the message), and an original saved with LF
    line ends travelled with CRLF, the form its DKIM signature covers. The stored evidence
    keeps the bytes as received; only the copy handed to the relay is written this way."""
    return re.sub(rb"(?<!\r)\n", b"\r\n", report)

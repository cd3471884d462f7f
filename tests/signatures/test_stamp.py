"""Stamping a signature on a message (signatures/stamp.py): golden files for the shapes
mail clients send, and the properties the milter relies on — it never raises, never
loses or changes an attachment, never stamps twice, never touches a signed message."""
import email
import os
import re
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signatures.stamp import MARKER_HEADER, Signature, apply_outcome, stamp

HERE = Path(__file__).parent
INPUTS = HERE / "stamp_samples"
SIEVE_SAMPLES = HERE.parent / "sieve" / "samples"  # the shared samples, as delivered
GOLDEN = HERE / "golden" / "stamp"
# A signature as the renderer makes it (its golden files): non-ASCII, one long HTML line.
SIGNATURE = Signature(html=(HERE / "golden/simple.html").read_text().strip(),
                      text=(HERE / "golden/simple.txt").read_text(), marker="7")
TEXT_LINE = "Marie Curie"

SAMPLES = sorted([*INPUTS.glob("*.eml"), *SIEVE_SAMPLES.glob("*.eml")])
LEFT_ALONE = {"signed.eml": "multipart/signed is never changed",
              "invitation.eml": "text/calendar is never changed",
              "already-stamped.eml": "already stamped"}


def parsed(raw: bytes):
    return email.message_from_bytes(raw, policy=policy.default)


def body_texts(raw: bytes) -> dict[str, str]:
    """{content type: decoded text} of the message's body parts (not attachments)."""
    message = parsed(raw)
    out = {}
    for kind in ("plain", "html"):
        part = message.get_body(preferencelist=(kind,))
        if part is not None and part.get_content_type() == f"text/{kind}":
            out[kind] = part.get_content()
    return out


def attachments(raw: bytes) -> list[tuple[str, bytes]]:
    return [(part.get_filename() or "", part.get_payload(decode=True) or b"")
            for part in parsed(raw).iter_attachments()]


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_each_sample_is_stamped_as_its_golden_file(path):
    raw = path.read_bytes()
    outcome = stamp(raw, SIGNATURE)
    result = apply_outcome(raw, outcome)
    if path.name in LEFT_ALONE:
        assert not outcome.changed and outcome.reason == LEFT_ALONE[path.name]
        assert result == raw
        return
    golden = GOLDEN / path.name
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_bytes(result)
    assert result == golden.read_bytes()
    assert parsed(result)[MARKER_HEADER] == "7"


@pytest.mark.parametrize("path", [p for p in SAMPLES if p.name not in LEFT_ALONE],
                         ids=lambda p: p.name)
def test_every_text_body_gets_the_signature_once_and_attachments_stay(path):
    raw = path.read_bytes()
    result = apply_outcome(raw, stamp(raw, SIGNATURE))
    before, after = body_texts(raw), body_texts(result)
    assert before.keys() == after.keys()
    for kind, text in after.items():
        assert text.count(TEXT_LINE) == 1, kind
        # Only added to: without the signature, the sender's text as it was.
        added = (f'<div class="mm-signature">{SIGNATURE.html}</div>' if kind == "html"
                 else SIGNATURE.text)
        assert squeezed(text).replace(squeezed(added), "", 1) == squeezed(before[kind])
    assert attachments(result) == attachments(raw)
    assert stamp(result, SIGNATURE).reason == "already stamped"


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_the_plain_signature_keeps_its_delimiter_line():
    raw = (INPUTS / "alternative.eml").read_bytes()
    plain = body_texts(apply_outcome(raw, stamp(raw, SIGNATURE)))["plain"]
    assert "\n-- \nMarie Curie\n" in plain.replace("\r\n", "\n")


def test_the_attachment_bytes_are_not_touched_at_all():
    raw = (INPUTS / "mixed-attachment.eml").read_bytes()
    result = apply_outcome(raw, stamp(raw, SIGNATURE))
    start = raw.index(b"--mix-1\r\nContent-Type: application/pdf")
    assert raw[start:] in result  # the PDF, the text attachment and the closing delimiter


def test_a_reply_gets_the_signature_above_the_quoted_history():
    raw = (INPUTS / "reply-gmail.eml").read_bytes()
    texts = body_texts(apply_outcome(raw, stamp(raw, SIGNATURE)))
    assert texts["plain"].index(TEXT_LINE) < texts["plain"].index("wrote:")
    assert texts["plain"].index("Thursday works") < texts["plain"].index(TEXT_LINE)
    assert texts["html"].index(TEXT_LINE) < texts["html"].index('class="gmail_quote"')


def test_replies_are_left_alone_when_the_address_stamps_new_messages_only():
    raw = (INPUTS / "reply-gmail.eml").read_bytes()
    outcome = stamp(raw, SIGNATURE, on_replies=False)
    assert not outcome.changed and "reply" in outcome.reason
    assert stamp((INPUTS / "alternative.eml").read_bytes(), SIGNATURE, on_replies=False).changed


def test_a_single_part_that_must_change_encoding_says_so_in_its_headers():
    raw = (INPUTS / "latin1-8bit.eml").read_bytes()
    outcome = stamp(raw, SIGNATURE)
    # Latin-1 cannot hold "—" of the signature: UTF-8, and QP for the long lines.
    assert dict(outcome.set_headers)["Content-Type"].lower().endswith('charset="utf-8"')
    result = apply_outcome(raw, outcome)
    assert parsed(result)["Content-Transfer-Encoding"] == "8bit"
    assert body_texts(result)["plain"].startswith("Un café ?")


def test_a_us_ascii_7bit_message_becomes_utf8_quoted_printable():
    raw = (SIEVE_SAMPLES / "sl-devel-reply.eml").read_bytes()
    outcome = stamp(raw, SIGNATURE)
    headers = dict(outcome.set_headers)
    assert headers["Content-Transfer-Encoding"] == "quoted-printable"
    assert 'charset="utf-8"' in headers["Content-Type"]
    assert all(len(line) <= 998 for line in apply_outcome(raw, outcome).split(b"\r\n"))


def test_a_long_html_signature_never_makes_a_line_over_998_octets():
    long_html = "<div>" + "x" * 3000 + "</div>"
    raw = (INPUTS / "alternative.eml").read_bytes()
    result = apply_outcome(raw, stamp(raw, Signature(long_html, "-- \nx", "1")))
    assert max(len(line) for line in result.split(b"\n")) <= 998
    assert "x" * 3000 in body_texts(result)["html"]


def test_an_empty_signature_stamps_nothing():
    raw = (INPUTS / "alternative.eml").read_bytes()
    assert not stamp(raw, Signature("", " ", "1")).changed


def test_only_the_text_part_when_the_signature_has_no_html():
    raw = (INPUTS / "alternative.eml").read_bytes()
    outcome = stamp(raw, Signature("", "-- \nJust text", "1"))
    assert outcome.stamped == ("text/plain",)
    assert "Just text" not in body_texts(apply_outcome(raw, outcome))["html"]


def test_lf_messages_keep_lf_line_ends():
    raw = (INPUTS / "alternative.eml").read_bytes().replace(b"\r\n", b"\n")
    result = apply_outcome(raw, stamp(raw, SIGNATURE))
    assert b"\r" not in result and body_texts(result)["html"].count(TEXT_LINE) == 1


@pytest.mark.parametrize("raw", [
    b"", b"\r\n", b"Subject: x", b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n",
    b"Content-Type: multipart/mixed\r\n\r\nno boundary",
    b"Content-Type: text/plain; charset=no-such-charset\r\n\r\nhi",
    b"Content-Type: text/plain; charset=utf-8\r\n\r\n\xff\xfe not utf-8",
    b"Content-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nhi",
    b"Content-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!",
])
def test_malformed_messages_are_left_alone_or_stamped_but_never_raise(raw):
    outcome = stamp(raw, SIGNATURE)
    result = apply_outcome(raw, outcome)
    assert outcome.changed or result == raw


# --- properties --------------------------------------------------------------------------

texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"),
                max_size=300)
blobs = st.binary(max_size=600)


@st.composite
def messages(draw):
    message = EmailMessage()
    message["From"] = "alice@example.test"
    message["To"] = "bob@remote.test"
    message["Subject"] = draw(st.sampled_from(["Hi", "Re: hi", "Fwd: hi", "Réunion"]))
    shape = draw(st.sampled_from(["plain", "html", "alternative"]))
    charset = draw(st.sampled_from(["utf-8", "iso-8859-1"]))
    cte = draw(st.sampled_from([None, "quoted-printable", "base64", "8bit"]))
    body = draw(texts)
    if charset != "utf-8":
        body = body.encode(charset, "replace").decode(charset)
    kwargs = {"charset": charset, **({"cte": cte} if cte else {})}
    if shape in ("plain", "alternative"):
        message.set_content(body, **kwargs)
    if shape == "html":
        message.set_content(f"<html><body><p>{body}</p></body></html>", subtype="html", **kwargs)
    if shape == "alternative":
        message.add_alternative(f"<p>{body}</p>", subtype="html", **kwargs)
    for index in range(draw(st.integers(0, 3))):
        message.add_attachment(draw(blobs), maintype="application", subtype="octet-stream",
                               filename=f"file{index}.bin")
    for index, part in enumerate(message.walk()):
        if part.is_multipart():  # fixed boundaries: the generator's own come from `random`
            part.set_boundary(f"=_stamp_test_{index}_=")
    raw = message.as_bytes()
    return raw.replace(b"\n", b"\r\n") if draw(st.booleans()) else raw


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages(), st.booleans())
def test_any_message_keeps_its_attachments_and_gets_the_signature_once(raw, on_replies):
    outcome = stamp(raw, SIGNATURE, on_replies=on_replies)
    result = apply_outcome(raw, outcome)
    assert attachments(result) == attachments(raw)
    if outcome.changed:
        for kind, text in body_texts(result).items():
            assert text.count(TEXT_LINE) == body_texts(raw)[kind].count(TEXT_LINE) + 1
        assert stamp(result, SIGNATURE).reason == "already stamped"
    else:
        assert result == raw


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_never_raise(raw):
    outcome = stamp(raw, SIGNATURE)
    apply_outcome(raw, outcome)


@settings(max_examples=150, deadline=None)
@given(messages(), st.integers(0, 4000))
def test_a_truncated_message_never_raises(raw, cut):
    truncated = raw[:cut]
    apply_outcome(truncated, stamp(truncated, SIGNATURE))


def test_the_marker_names_the_signature_stamped():
    raw = (INPUTS / "alternative.eml").read_bytes()
    outcome = stamp(raw, SIGNATURE)
    assert outcome.add_headers == ((MARKER_HEADER, "7"),)
    assert re.search(rb"^X-Mail-Manager-Signature: 7\r$", apply_outcome(raw, outcome), re.M)


def test_a_message_without_mime_headers_gets_them_when_its_encoding_changes():
    raw = b"From: alice@example.test\r\nSubject: old style\r\n\r\nPlain ASCII.\r\n"
    outcome = stamp(raw, SIGNATURE)
    headers = dict(outcome.set_headers)
    assert headers["MIME-Version"] == "1.0"
    assert headers["Content-Transfer-Encoding"] == "quoted-printable"
    assert body_texts(apply_outcome(raw, outcome))["plain"].count(TEXT_LINE) == 1


def test_a_forward_gets_the_signature_above_the_forwarded_message():
    raw = (b"From: alice@example.test\r\nSubject: Fwd: figures\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n\r\nSee below.\r\n\r\n"
           b"---------- Forwarded message ---------\r\nFrom: Bob\r\n\r\nThe figures.\r\n")
    plain = body_texts(apply_outcome(raw, stamp(raw, SIGNATURE)))["plain"]
    assert plain.index("See below") < plain.index(TEXT_LINE) < plain.index("Forwarded message")

"""The ARF report embeds the reported message byte for byte: a DKIM-signed sample still
verifies once taken back out of the report."""
import email
from datetime import UTC, datetime
from email import policy
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from mailtools import arf

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples"


def signed_sample():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    import base64

    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    message = (SAMPLES / "newsletter.eml").read_bytes()
    signature = dkim.sign(message, b"sel", b"shop.example", private,
                          include_headers=[b"from", b"to", b"subject", b"date"])
    return signature + message, {b"sel._domainkey.shop.example.": record}


def report_of(original, **extra):
    return arf.build_report(original=original, headers_only=False, from_address="reports@ours.example",
                            to_address="abuse@example.net", user_agent="Mail Manager/1.0",
                            reported_at=datetime(2026, 12, 1, 14, 0, tzinfo=UTC),
                            message_id="<r1@ours.example>", human_text="Phishing.\n",
                            mail_from="<bounce@shop.example>", source_ip="203.0.113.9", **extra)


def test_the_embedded_original_is_byte_identical_and_its_dkim_still_verifies():
    signed, records = signed_sample()

    def dns(name, timeout=5):
        return records.get(name)

    assert dkim.verify(signed, dnsfunc=dns)
    report = report_of(signed)
    embedded = arf.embedded_original(report)
    assert embedded == signed
    assert dkim.verify(embedded, dnsfunc=dns)
    assert not dkim.verify(embedded.replace(b"Hello", b"Hallo", 1) + b"x", dnsfunc=dns)


def test_the_report_is_rfc5965_feedback_of_type_fraud():
    original = (SAMPLES / "plain.eml").read_bytes()
    parsed = email.message_from_bytes(report_of(original, reported_domain="shop.example"),
                                      policy=policy.default)
    assert parsed.get_content_type() == "multipart/report"
    assert parsed.get_param("report-type") == "feedback-report"
    human, feedback, embedded = parsed.iter_parts()
    assert human.get_content_type() == "text/plain"
    assert feedback.get_content_type() == "message/feedback-report"
    fields = feedback.as_bytes().split(b"\n\n", 1)[1]
    for line in (b"Feedback-Type: fraud", b"User-Agent: Mail Manager/1.0", b"Version: 1",
                 b"Original-Mail-From: <bounce@shop.example>", b"Source-IP: 203.0.113.9",
                 b"Arrival-Date: Tue, 01 Dec 2026 14:00:00 +0000"):
        assert line in fields
    assert embedded.get_content_type() == "message/rfc822"


def test_headers_only_are_embedded_as_rfc822_headers():
    report = arf.build_report(original=b"From: a@b.example\r\nSubject: x\r\n", headers_only=True,
                              from_address="r@o.example", to_address="abuse@example.net",
                              user_agent="Mail Manager/1.0", reported_at=datetime.now(UTC),
                              message_id="<r2@o.example>", human_text="x")
    assert b"Content-Type: text/rfc822-headers" in report
    assert arf.embedded_original(report) == b"From: a@b.example\r\nSubject: x\r\n"


def test_a_hostile_subject_cannot_add_headers_to_the_report():
    report = report_of(b"Subject: x\r\n\r\nbody", reported_domain="a\r\nBcc: victim@example.org")
    head = report.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in report.split(b"--=_report_")[2]
    assert b"Bcc" not in head


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000), st.booleans())
def test_any_original_comes_back_out_byte_for_byte(original, headers_only):
    report = arf.build_report(original=original, headers_only=headers_only, from_address="r@o.example",
                              to_address="abuse@example.net", user_agent="Mail Manager/1.0",
                              reported_at=datetime(2026, 12, 1, tzinfo=UTC), message_id="<r3@o.example>",
                              human_text="x")
    assert arf.embedded_original(report) == original

"""Phishing reports delivered for real: an organisation member reports a DKIM-signed
message through the API; the real Celery worker (subprocess, private Redis) sends the ARF
report through Django's SMTP backend to the private Postfix, which delivers it to an abuse
mailbox of a service pushed to the stack; the report is read back over IMAP. Its embedded
original is the uploaded bytes, byte for byte, and its DKIM signature still verifies.
With the relay unreachable the report ends failed, its error recorded, its evidence intact.
Waits are on conditions with deadlines."""
from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import imaplib
import re
import uuid
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.files.uploadedfile import SimpleUploadedFile

from mailtools.models import PhishingReport
from tests.e2e.stack_logs import wait_for
from tests.e2e.worker import free_port

from .test_pipeline import Scenario

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples"
URL = "/api/v1/tools/phishing-reports/"
DOMAIN = "abuse-desk.e2e.test"
ABUSE = f"abuse@{DOMAIN}"
REPORTS_FROM = "Mail Manager <phishing-reports@panel.e2e.test>"
SELECTOR, SIGNER = b"e2e", b"shop.example"


class SignedSample:
    """newsletter.eml with a fresh Message-ID, signed by `shop.example` with a key made
    here (simple/simple: any changed byte breaks it); its lines ended as it travelled
    (CRLF) or as a mail client may save it (LF)."""

    def __init__(self, line_end: bytes = b"\r\n"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())
        public = key.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
        self.record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
        raw = (SAMPLES / "newsletter.eml").read_bytes().replace(b"\r\n", b"\n").replace(b"\n", line_end)
        self.message_id = f"<{uuid.uuid4().hex}@news.shop.example>"
        raw, count = re.subn(rb"(?im)^Message-ID:[^\r\n]*", b"Message-ID: " + self.message_id.encode(),
                             raw, count=1)
        assert count == 1
        signature = dkim.sign(raw, SELECTOR, SIGNER, private, canonicalize=(b"simple", b"simple"),
                              include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
        self.raw = signature.replace(b"\r\n", line_end) + raw
        assert self.verifies(self.raw)

    def dnsfunc(self, name: bytes, timeout: int = 5) -> bytes | None:
        """dkimpy's key lookup, answered here instead of by DNS."""
        wanted = SELECTOR + b"._domainkey." + SIGNER
        return self.record if name.rstrip(b".").lower() == wanted else None

    def verifies(self, raw: bytes) -> bool:
        return dkim.verify(raw, dnsfunc=self.dnsfunc)


class AbuseDesk(Scenario):
    """The abuse mailbox: an address of a service the worker pushed to the stack, read over
    IMAP with its device password."""

    def __init__(self, client, stack, organisation, owner):
        super().__init__(client, stack, organisation)
        service = self.service(DOMAIN)
        address = self.address(service, "abuse")
        self.grant(address, owner, permissions=("read",))
        self.login_pair = self.device(address, "abuse desk")["login"]
        self.wait_applied(service)

    def fetch(self, search: tuple[str, ...]) -> list[bytes]:
        """Every message of the INBOX matching the IMAP SEARCH criteria, as served."""
        client = imaplib.IMAP4(self.stack.host, self.stack.imap_port, timeout=30)
        client.login(*self.login_pair)
        try:
            client.select("INBOX", readonly=True)
            _, data = client.search(None, *search)
            found = []
            for number in data[0].split():
                _, parts = client.fetch(number, "(BODY.PEEK[])")
                found.append(parts[0][1])
            return found
        finally:
            client.logout()


def worker_sends_through(pipeline, port: int, host: str = "127.0.0.1") -> None:
    """Restart the worker with Django's SMTP backend pointed at host:port (its settings
    are read from the environment at start)."""
    pipeline.worker.stop()
    pipeline.worker.start(extra_env={
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": host, "EMAIL_PORT": str(port), "EMAIL_TIMEOUT": "10",
        "PHISHING_REPORT_ADDRESS": ABUSE, "PHISHING_REPORT_FROM": REPORTS_FROM})


@pytest.fixture
def desk(pipeline, mail_stack, owner, organisation, api, settings):
    # The API (this process) records the recipient when the report is written.
    settings.PHISHING_REPORT_ADDRESS = ABUSE
    desk = AbuseDesk(api(owner), mail_stack, organisation, owner)
    yield desk
    # The next tests of the module get the worker as the fixture starts it.
    pipeline.worker.stop()
    pipeline.worker.start()
    mail_stack.backend().remove_service(DOMAIN)


def report(api, member, organisation, raw: bytes) -> dict:
    response = api(member).post(URL, {"message": SimpleUploadedFile("phish.eml", raw, "message/rfc822"),
                                      "organisation": organisation.pk}, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()


def settled(api, member, pk: int) -> dict:
    """The report as its reporter lists it, once it has left `queued`."""
    client = api(member)

    def state():
        body = client.get(f"{URL}{pk}/").json()
        return body if body["state"] != "queued" else None
    return wait_for(state, f"phishing report {pk} to leave 'queued'", deadline=60)


def mime_parts(raw: bytes, boundary: bytes) -> list[tuple[bytes, bytes]]:
    """(headers, body) of each part between the delimiters, split on the bytes (RFC 2046
    §5.1.1: the CRLF before a delimiter belongs to it), not through the email package."""
    delimiter = b"\r\n--" + boundary
    chunks = raw.split(delimiter)
    assert chunks[-1].startswith(b"--"), "no closing delimiter"
    parts = []
    for chunk in chunks[1:-1]:
        assert chunk.startswith(b"\r\n")
        head, separator, body = chunk[2:].partition(b"\r\n\r\n")
        assert separator
        parts.append((head, body))
    return parts


@pytest.mark.parametrize("line_end", [b"\r\n", b"\n"], ids=["crlf", "lf"])
def test_a_reported_message_reaches_the_abuse_mailbox_as_arf_with_its_original_intact(
        desk, pipeline, mail_stack, api, member, organisation, line_end):
    sample = SignedSample(line_end)
    worker_sends_through(pipeline, mail_stack.smtp_port, mail_stack.host)
    created = report(api, member, organisation, sample.raw)
    assert created["state"] == "queued" and created["recipient"] == ABUSE

    done = settled(api, member, created["id"])
    assert done["state"] == "sent", done["error"]
    assert done["error"] == "" and done["sent_at"]
    stored = PhishingReport.objects.get(pk=created["id"])
    message_id = f"<phishing-report-{stored.pk}-{stored.sha256[:16]}@panel.e2e.test>"
    (delivered,) = wait_for(lambda: desk.fetch(("HEADER", "Message-ID", message_id)),
                            f"the report in {ABUSE}'s INBOX")

    parsed = email.message_from_bytes(delivered, policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/report"
    assert parsed.get_param("report-type") == "feedback-report"
    assert parsed["To"] == ABUSE and "phishing-reports@panel.e2e.test" in parsed["From"]
    parts = mime_parts(delivered, parsed.get_boundary().encode())
    types = [email.message_from_bytes(head + b"\r\n\r\n").get_content_type() for head, _ in parts]
    assert types == ["text/plain", "message/feedback-report", "message/rfc822"]
    feedback = email.message_from_bytes(parts[1][1])
    assert feedback["Feedback-Type"] == "fraud" and feedback["Version"] == "1"
    assert feedback["User-Agent"]
    assert stored.sha256.encode() in parts[0][1]

    embedded = parts[2][1]
    # As uploaded, byte for byte; an upload saved with LF line ends went on the wire (and
    # comes out of IMAP) with CRLF, the form its signature covers: nothing else changed.
    assert embedded == sample.raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if line_end == b"\r\n":
        assert embedded == sample.raw, "the embedded original is not the uploaded bytes"
        assert hashlib.sha256(embedded).hexdigest() == created["sha256"]
    assert bytes(stored.original) == sample.raw  # the evidence is kept as received
    assert sample.verifies(embedded), "the original's DKIM signature no longer verifies"
    # The verification can fail: one changed byte of the body breaks it.
    assert not sample.verifies(embedded.replace(b"-30 %", b"-90 %"))
    # One copy arrived.
    assert len(desk.fetch(("HEADER", "Message-ID", message_id))) == 1


def test_an_unreachable_relay_fails_the_report_with_its_error_and_keeps_the_evidence(
        desk, pipeline, api, member, organisation):
    sample = SignedSample()
    worker_sends_through(pipeline, free_port())  # nothing listens there
    created = report(api, member, organisation, sample.raw)

    done = settled(api, member, created["id"])
    assert done["state"] == "failed"
    assert "refused" in done["error"].lower(), done["error"]
    assert done["sent_at"] is None
    stored = PhishingReport.objects.get(pk=created["id"])
    assert bytes(stored.original) == sample.raw
    assert stored.sha256 == hashlib.sha256(sample.raw).hexdigest() == created["sha256"]
    assert sample.verifies(bytes(stored.original))
    assert desk.fetch(("HEADER", "Message-ID", f"phishing-report-{stored.pk}-")) == []

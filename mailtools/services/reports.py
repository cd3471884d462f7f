"""Phishing reports: stored write-once with the SHA-256 of the original, sent to the
abuse address as ARF (RFC 5965) by a Celery task after the commit."""
import hashlib
import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from manager.accounts.models import Organisation
from manager.accounts.roles import CHANGE, VIEW_ORGANISATION
from manager.audit import services as audit
from manager.core.errors import Conflict, ServiceError
from manager.core.permissions import may

from .. import arf, headers
from ..limits import REPORTED_MESSAGE_BYTES
from ..models import PhishingReport
from .analysis import check_message

log = logging.getLogger(__name__)
USER_AGENT = "Mail Manager/1.0"
# A send takes seconds; a claim older than this belongs to a worker that died.
CLAIM_SECONDS = 600
# A report still queued this long after it was written lost its task (the broker was down
# at the commit): the periodic requeue sends it.
REQUEUE_AFTER_SECONDS = 300


def phishing_report_create(*, actor, organisation: Organisation, original: bytes,
                           field: str = "message") -> PhishingReport:
    """Store the reported message (any member of the organisation may report what they
    received), audit it, and queue its sending once committed."""
    if not may(actor, VIEW_ORGANISATION, organisation_id=organisation.pk):
        raise ServiceError(_("Not found."), code="not_found", status=404)
    original = check_message(original, field, limit=REPORTED_MESSAGE_BYTES)
    source = headers.source_of(original)
    headers_only = not _has_body(original)
    with transaction.atomic():
        report = PhishingReport.objects.create(
            organisation=organisation, reporter=actor, original=original,
            sha256=hashlib.sha256(original).hexdigest(), headers_only=headers_only,
            size=len(original), sender=headers.visible(source["sender"], limit=320),
            subject=headers.visible(source["subject"], limit=500), source_ip=source["source_ip"][:64],
            recipient=settings.PHISHING_REPORT_ADDRESS)
        audit.record(actor=actor, action="create", obj=report, verb="reported phishing",
                     after={"sha256": report.sha256, "size": report.size, "sender": report.sender,
                            "subject": report.subject, "recipient": report.recipient})
        from ..tasks import send_phishing_report

        transaction.on_commit(lambda: send_phishing_report.delay(report.pk))
    return report


def _has_body(raw: bytes) -> bool:
    """Pasted headers stop at the header block; a message has an empty line after it."""
    block = headers.header_block(raw)
    return len(raw.rstrip(b"\r\n")) > len(block.rstrip(b"\r\n"))


class RawEmailMessage(EmailMessage):
    """A message whose bytes are already written (the ARF report): Django's backends send
    `message().as_bytes()`, which here are those bytes, untouched but for their line ends."""

    def __init__(self, raw: bytes, **kwargs):
        super().__init__(**kwargs)
        self.raw = raw

    def message(self, *, policy=None):
        return _Written(self.raw)


class _Written:
    def __init__(self, raw: bytes):
        self.raw = raw

    def as_bytes(self, unixfrom=False, linesep="\n"):
        # The SMTP backend asks for CRLF line ends, the only ones SMTP carries; the locmem
        # and file backends keep the report as built.
        return arf.wire_form(self.raw) if linesep == "\r\n" else self.raw

    def as_string(self, unixfrom=False, linesep="\n"):
        return self.raw.decode("utf-8", "replace")

    def get_charset(self):
        return None


def build_report(report: PhishingReport) -> bytes:
    source = headers.source_of(bytes(report.original))
    text = (f"A person using {settings.SITE_URL} reported the attached message as phishing "
            f"(fraud).\n\nSHA-256 of the message: {report.sha256}\nSender: {report.sender or '-'}\n"
            f"Subject: {report.subject or '-'}\n")
    if report.headers_only:
        text += "\nOnly the message's headers were available; they are attached.\n"
    domain = settings.PHISHING_REPORT_FROM.rpartition("@")[2].strip(">") or "localhost"
    return arf.build_report(
        original=bytes(report.original), headers_only=report.headers_only,
        from_address=settings.PHISHING_REPORT_FROM, to_address=report.recipient,
        user_agent=USER_AGENT, reported_at=report.created,
        message_id=f"<phishing-report-{report.pk}-{report.sha256[:16]}@{domain}>",
        human_text=text, mail_from=source["mail_from"], arrival=source["arrival"],
        source_ip=source["source_ip"])


def phishing_report_send(report_id: int) -> PhishingReport | None:
    """Send one queued report through Django's e-mail backend: sent, or failed with the
    error (the evidence itself is never written again)."""
    now = timezone.now()
    claimed = PhishingReport.objects.filter(pk=report_id, state=PhishingReport.State.QUEUED).filter(
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - timedelta(seconds=CLAIM_SECONDS))
    ).update(claimed_at=now)
    report = PhishingReport.objects.filter(pk=report_id).first()
    if not claimed:  # sent, failed, gone, or another worker is sending it
        return report
    try:
        raw = build_report(report)
        message = RawEmailMessage(raw, from_email=settings.PHISHING_REPORT_FROM, to=[report.recipient],
                                  connection=get_connection())
        message.send()
    except Exception as exc:  # the backend's error, whatever it is, is what the list shows
        log.warning("phishing report %s failed: %s", report.pk, exc)
        PhishingReport.objects.filter(pk=report.pk).update(
            state=PhishingReport.State.FAILED, error=str(exc)[:2000] or type(exc).__name__)
    else:
        PhishingReport.objects.filter(pk=report.pk).update(
            state=PhishingReport.State.SENT, error="", sent_at=timezone.now())
    report.refresh_from_db()
    return report


def phishing_report_resend(*, actor, report: PhishingReport) -> PhishingReport:
    """Queue a failed report again (the relay was down, say): back to queued, its error
    cleared, audited, and sent by the same task once committed. Whoever may see the report
    and manages its organisation, or made it, may ask; another's is a 404 as for viewing."""
    if not PhishingReport.objects.restrict(actor, "view").filter(pk=report.pk).exists():
        raise ServiceError(_("Not found."), code="not_found", status=404)
    if not (report.reporter_id == actor.pk or may(actor, CHANGE, report)):
        raise ServiceError(_("Your role does not allow this action."), code="permission_denied",
                           status=403)
    with transaction.atomic():
        # Only from failed, in one statement: two clicks (or a click racing a worker) queue
        # it once. The failed send's claim is cleared, else the task would find the report
        # still taken and send nothing; a duplicate delivery still meets the claim it takes.
        reopened = PhishingReport.objects.filter(pk=report.pk, state=PhishingReport.State.FAILED).update(
            state=PhishingReport.State.QUEUED, error="", claimed_at=None)
        if not reopened:
            raise Conflict(_("Only a report whose sending failed can be sent again."), code="not_failed")
        audit.record(actor=actor, action="update", obj=report, verb="resent phishing report",
                     before={"state": PhishingReport.State.FAILED, "error": report.error},
                     after={"state": PhishingReport.State.QUEUED, "error": ""})
        from ..tasks import send_phishing_report

        transaction.on_commit(lambda: send_phishing_report.delay(report.pk))
    report.refresh_from_db()
    return report


def phishing_reports_requeue() -> int:
    """Queue again the reports whose task was lost (written, never taken by a worker)."""
    from ..tasks import send_phishing_report

    now = timezone.now()
    stale = PhishingReport.objects.filter(state=PhishingReport.State.QUEUED,
                                          created__lt=now - timedelta(seconds=REQUEUE_AFTER_SECONDS)).filter(
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - timedelta(seconds=CLAIM_SECONDS)))
    ids = list(stale.values_list("pk", flat=True)[:1000])
    for pk in ids:
        send_phishing_report.delay(pk)
    return len(ids)

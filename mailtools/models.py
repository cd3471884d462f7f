"""Phishing reports: a message a person received and reported, kept as evidence (its
bytes, write-once, with their SHA-256) and sent to the configured abuse address as an ARF
report by a Celery task."""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from manager.accounts.roles import VIEW, VIEW_ORGANISATION
from manager.core.querysets import RestrictedQuerySet, organisation_ids_where

# What a report may never change once written: the evidence and its fingerprint.
WRITE_ONCE = frozenset({"original", "sha256", "headers_only", "organisation", "organisation_id"})


class EvidenceChanged(Exception):
    """A write that would change a stored original: refused, whoever asks."""


class PhishingReportQuerySet(RestrictedQuerySet):
    def restrict(self, user, action="view"):
        """Owners and administrators see every report of their organisation; anyone else
        (a member who uses some addresses) only the reports they made, in organisations
        they still belong to."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        managed = Q(organisation_id__in=organisation_ids_where(user, action))
        if action != "view":
            return self.filter(managed)
        own = Q(reporter=user, organisation_id__in=organisation_ids_where(user, VIEW_ORGANISATION))
        return self.filter(managed | own)

    def update(self, **kwargs):
        if WRITE_ONCE & set(kwargs):
            raise EvidenceChanged("A reported message is stored once and never changed.")
        return super().update(**kwargs)


class PhishingReport(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    organisation_field = "organisation"
    view_action = VIEW

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE,
                                     related_name="phishing_reports")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                 related_name="phishing_reports")
    # The message as received, byte for byte (its DKIM signature must still verify at the
    # abuse desk), or only its headers when that is all the person had.
    original = models.BinaryField(editable=False)
    sha256 = models.CharField(max_length=64, editable=False)
    headers_only = models.BooleanField(default=False, editable=False)
    size = models.PositiveIntegerField(default=0)
    sender = models.CharField(_("sender"), max_length=320, blank=True)
    subject = models.CharField(_("subject"), max_length=500, blank=True)
    source_ip = models.CharField(max_length=64, blank=True)
    recipient = models.CharField(max_length=254, blank=True)  # the abuse address it went to
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.QUEUED)
    error = models.TextField(blank=True)
    created = models.DateTimeField(_("reported"), auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # When a worker took the report to send it: a second delivery of the task (a requeue,
    # a broker's redelivery) finds it taken and sends nothing; a worker that died leaves a
    # claim that expires (services.reports.CLAIM_SECONDS).
    claimed_at = models.DateTimeField(null=True, blank=True)

    objects = models.Manager.from_queryset(PhishingReportQuerySet)()

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["organisation", "-created"], name="phishing_org_created")]

    def __str__(self):
        return f"Phishing report {self.pk} ({self.sha256[:12]})"

    def save(self, *args, **kwargs):
        """A stored report changes only its sending state: any save that would write the
        evidence again is refused (update_fields must name what changes)."""
        if not self._state.adding:
            fields = kwargs.get("update_fields")
            if fields is None or WRITE_ONCE & set(fields):
                raise EvidenceChanged("A reported message is stored once and never changed.")
        super().save(*args, **kwargs)

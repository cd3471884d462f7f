"""DKIM keys of a mail service's domain and the steps of their rotation."""
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from manager.core.querysets import RestrictedQuerySet

from .mail_services import MailService


class DkimKey(models.Model):
    """A DKIM key pair of a mail service's domain. A rotation moves a new key through
    PUBLISHING (its selector record published, not signing) → ACTIVE (the signer uses it)
    while the previous one goes ACTIVE → RETIRED (no longer signing, record still
    published for mail in transit) → REMOVED (record withdrawn, private key wiped).
    `services/dkim.py` moves them; the times say when each step is due."""

    class State(models.TextChoices):
        PUBLISHING = "publishing", _("Published, not signing yet")
        ACTIVE = "active", _("Signing")
        RETIRED = "retired", _("Retired, still published")
        REMOVED = "removed", _("Removed")

    mail_service = models.ForeignKey(MailService, on_delete=models.CASCADE,
                                     related_name="dkim_keys")
    selector = models.CharField(_("selector"), max_length=63)
    state = models.CharField(_("state"), max_length=16, choices=State.choices,
                             default=State.ACTIVE)
    public_key = models.TextField(editable=False)  # base64 SubjectPublicKeyInfo: `p=`
    # The PEM encrypted with MAIL_DKIM_KEY_SECRET (dkim_keys.py); "" once removed.
    private_key = models.TextField(blank=True, editable=False)
    created = models.DateTimeField(default=timezone.now, editable=False)
    # PUBLISHING: when the selector record was first seen served (our zone pushed, or the
    # owner's DNS answering it), and when the switch is due (that + the record's TTL).
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    switch_after = models.DateTimeField(null=True, blank=True, editable=False)
    activated_at = models.DateTimeField(null=True, blank=True, editable=False)
    retired_at = models.DateTimeField(null=True, blank=True, editable=False)
    remove_after = models.DateTimeField(null=True, blank=True, editable=False)
    removed_at = models.DateTimeField(null=True, blank=True, editable=False)

    organisation_field = "mail_service__organisation"
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["mail_service_id", "-created", "-id"]
        constraints = [models.UniqueConstraint(fields=["mail_service", "selector"],
                                               name="unique_dkim_selector")]

    def __str__(self):
        return f"{self.selector} ({self.state})"

    @property
    def is_published(self) -> bool:
        """Its selector record is in the zone (or on the owner's list of records)."""
        return self.state in (self.State.PUBLISHING, self.State.ACTIVE, self.State.RETIRED)

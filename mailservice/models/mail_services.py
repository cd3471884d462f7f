"""Mail services: one domain served for one organisation, on one backend host, and the
managers that hide a removed service until its purge."""
from django.db import models
from django.utils.translation import gettext_lazy as _

from manager.core.querysets import RestrictedQuerySet

from ..plans import PLAN_CHOICES, PLANS, address_limit, storage_limit_mb

# The outbox unit of a mail service (named by its domain): what the services enqueue and
# the push applies.
PUSH_KIND = "mail_service"


class MailServiceQuerySet(RestrictedQuerySet):
    pass


class InUseMailServices(models.Manager.from_queryset(MailServiceQuerySet)):
    """The default manager: a removed service (waiting for its purge) is not served, not
    listed and cannot be changed; only `MailService.removed` and the purge see it."""

    def get_queryset(self):
        return super().get_queryset().filter(removed_at__isnull=True)


class RemovedMailServices(models.Manager.from_queryset(MailServiceQuerySet)):
    def get_queryset(self):
        return super().get_queryset().filter(removed_at__isnull=False)


class MailService(models.Model):
    """Serves one domain for one organisation, on one backend host."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT,
                                     related_name="mail_services")
    domain = models.CharField(_("domain"), max_length=253, unique=True)
    plan = models.CharField(_("plan"), max_length=32, choices=PLAN_CHOICES)
    capacity = models.PositiveIntegerField(
        _("bought capacity"), default=5,
        help_text=_("Addresses bought for plans sold per offer or in packs."))
    backend_host = models.CharField(_("backend host"), max_length=100, default="default")
    # The organisation's Domain of the same name (its DNS zone); `domain` stays the name
    # the mail code reads everywhere.
    domain_ref = models.ForeignKey("dnszones.Domain", null=True, blank=True, editable=False,
                                   on_delete=models.PROTECT, related_name="mail_services")
    created = models.DateTimeField(auto_now_add=True)
    # Removal: no longer served at once; its mail is purged from the backend after
    # `purge_after` (MAIL_REMOVAL_GRACE_DAYS) unless restored before.
    removed_at = models.DateTimeField(null=True, blank=True, editable=False)
    purge_after = models.DateTimeField(null=True, blank=True, editable=False, db_index=True)
    purge_started_at = models.DateTimeField(null=True, blank=True, editable=False)

    organisation_field = "organisation"
    objects = InUseMailServices()
    removed = RemovedMailServices()
    with_removed = MailServiceQuerySet.as_manager()

    class Meta:
        ordering = ["domain"]

    def __str__(self):
        return self.domain

    @property
    def plan_info(self):
        return PLANS[self.plan]

    @property
    def address_limit(self) -> int:
        return address_limit(self.plan_info, self.capacity)

    @property
    def storage_limit_mb(self) -> int | None:
        """What the addresses' quotas may add up to (None: the plan sets no cap)."""
        return storage_limit_mb(self.plan_info, self.capacity)

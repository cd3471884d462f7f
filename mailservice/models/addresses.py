"""Addresses of a mail service, with their aliases and redirections, and the managers that
hide a removed address until its purge."""
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from manager.core.querysets import RestrictedQuerySet, organisation_ids_where

from .. import limits
from ..sieve import active_script as autoreply
from .mail_services import MailService

CATCHALL_LOCAL_PART = "catchall"


class AddressQuerySet(RestrictedQuerySet):
    def restrict(self, user, action="view"):
        """Organisation roles see their organisation's addresses; a person who was given
        access to an address sees that address too (per-address permissions are checked
        by `mailservice.permissions.may_on_address`)."""
        # At call time: people.py imports this module (its models point to Address).
        from .people import AddressAccess

        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        # Subqueries, not a join: a count of the list then reads the address rows alone.
        services = MailService.with_removed.filter(
            organisation_id__in=organisation_ids_where(user, action)).values("pk")
        if action == "view":
            return self.filter(Q(mail_service_id__in=services)
                               | Q(pk__in=AddressAccess.objects.filter(user=user).values("address_id")))
        return self.filter(mail_service_id__in=services)


class InUseAddresses(models.Manager.from_queryset(AddressQuerySet)):
    """The default manager: addresses removed, or of a removed mail service, are not served
    and not listed; only `Address.removed` and the purge see them."""

    def get_queryset(self):
        # A subquery, not a join (see AddressQuerySet.restrict); removed services are few.
        return super().get_queryset().filter(removed_at__isnull=True).exclude(
            mail_service_id__in=MailService.removed.values("pk"))


class RemovedAddresses(models.Manager.from_queryset(AddressQuerySet)):
    """Addresses removed one by one (those of a removed service go with the service)."""

    def get_queryset(self):
        return super().get_queryset().filter(removed_at__isnull=False,
                                             mail_service__removed_at__isnull=True)


class Address(models.Model):
    class SieveMode(models.TextChoices):
        STANDARD = "standard", _("Standard")
        ADVANCED = "advanced", _("Advanced")

    class SieveFailure(models.TextChoices):
        """Why the backend does not run the address's current filters (backends.base.SieveHold)."""

        NONE = "", _("None")
        REFUSED = "refused", _("Refused before activation")
        STOPPED_DELIVERY = "stopped_delivery", _("Stopped delivery")

    class AutoReplyState(models.TextChoices):
        """What the auto-reply does now (`autoreply_state`)."""

        OFF = autoreply.OFF, pgettext_lazy("auto-reply state", "Off")
        SCHEDULED = autoreply.SCHEDULED, pgettext_lazy("auto-reply state", "Scheduled")
        ACTIVE = autoreply.ACTIVE, pgettext_lazy("auto-reply state", "Active")
        ENDED = autoreply.ENDED, pgettext_lazy("auto-reply state", "Ended")

    mail_service = models.ForeignKey(MailService, on_delete=models.CASCADE, related_name="addresses")
    local_part = models.CharField(_("local part"), max_length=64)
    display_name = models.CharField(_("display name"), max_length=120, blank=True)
    quota_mb = models.PositiveIntegerField(
        _("quota (MB)"), default=10240,
        validators=[MinValueValidator(limits.QUOTA_MB_MIN), MaxValueValidator(limits.QUOTA_MB_MAX)])
    # What the mail server last reported as used (the periodic quota report); None
    # until the first report.
    quota_used_mb = models.FloatField(_("used (MB)"), null=True, blank=True, editable=False)
    quota_used_at = models.DateTimeField(_("usage reported at"), null=True, blank=True,
                                         editable=False)
    enabled = models.BooleanField(_("enabled"), default=True)
    sieve_mode = models.CharField(max_length=16, choices=SieveMode.choices, default=SieveMode.STANDARD)
    sieve_script = models.TextField(blank=True)  # the advanced-mode script
    autoreply_enabled = models.BooleanField(_("auto-reply"), default=False)
    autoreply_subject = models.CharField(_("auto-reply subject"), max_length=200, blank=True)
    autoreply_body = models.TextField(_("auto-reply message"), blank=True)
    # The period is [start, end), in UTC; either end may be open.
    autoreply_start = models.DateTimeField(_("auto-reply from"), null=True, blank=True)
    autoreply_end = models.DateTimeField(_("auto-reply until"), null=True, blank=True)
    autoreply_days = models.PositiveSmallIntegerField(
        _("days between two replies to the same sender"), default=1,
        validators=[MinValueValidator(limits.AUTOREPLY_DAYS_MIN),
                    MaxValueValidator(limits.AUTOREPLY_DAYS_MAX)])
    # The aliases it answers for besides the address itself; None: all of them, aliases
    # added later included.
    autoreply_addresses = models.JSONField(_("auto-reply addresses"), null=True, blank=True,
                                           default=None)
    # The zone the period was entered in (IANA name), to show it the same way; "" = TIME_ZONE.
    autoreply_time_zone = models.CharField(_("auto-reply time zone"), max_length=64, blank=True)
    # Set by the push and the delivery watch, cleared once the current filters run.
    sieve_failure = models.CharField(max_length=20, choices=SieveFailure.choices, blank=True,
                                     default=SieveFailure.NONE, editable=False)
    sieve_failure_reason = models.TextField(blank=True, editable=False)
    sieve_failure_at = models.DateTimeField(null=True, blank=True, editable=False)
    # STOPPED_DELIVERY: the filters active before run again (False: no filters run).
    sieve_failure_restored = models.BooleanField(default=True, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    # Removal, as for MailService: its local part stays taken until restore or purge.
    removed_at = models.DateTimeField(null=True, blank=True, editable=False)
    purge_after = models.DateTimeField(null=True, blank=True, editable=False, db_index=True)
    purge_started_at = models.DateTimeField(null=True, blank=True, editable=False)

    organisation_field = "mail_service__organisation"
    objects = InUseAddresses()
    removed = RemovedAddresses()
    with_removed = AddressQuerySet.as_manager()

    class Meta:
        ordering = ["mail_service_id", "local_part"]
        constraints = [
            models.UniqueConstraint(fields=["mail_service", "local_part"], name="unique_local_part"),
        ]
        # The address list: its orderings and filters walk one of these in order (never a
        # sort of the whole service per page); `unique_local_part` serves the default
        # order (mail service, local part) and the catchall filter.
        indexes = [
            models.Index(fields=["mail_service", "enabled", "local_part"],
                         name="address_enabled_order"),
            models.Index(fields=["mail_service", "sieve_mode", "local_part"],
                         name="address_sieve_mode_order"),
            models.Index(fields=["mail_service", "created", "id"], name="address_created_order"),
            # The disabled addresses across every service in the default order: few rows,
            # walked in order and cut at the page's end. Without it the planner reads them
            # from the index above (enabled is its second column) and may sort them all.
            models.Index(fields=["mail_service", "local_part"], condition=models.Q(enabled=False),
                         name="address_disabled_order"),
        ]

    def __str__(self):
        return self.email

    @property
    def email(self) -> str:
        return f"{self.local_part}@{self.mail_service.domain}"

    @property
    def is_catchall(self) -> bool:
        return self.local_part == CATCHALL_LOCAL_PART

    @property
    def quota_used_percent(self) -> int | None:
        """The reported use as a whole percentage of the quota, at most 100 (for a bar)."""
        if self.quota_used_mb is None or not self.quota_mb:
            return None
        return min(100, int(self.quota_used_mb * 100 / self.quota_mb))

    def clean(self):
        if self.autoreply_start and self.autoreply_end and self.autoreply_end <= self.autoreply_start:
            raise ValidationError({"autoreply_end": gettext("The end must be after the start.")})

    @property
    def sieve_sync_error(self) -> str:
        """Why the mail server does not run this address's current filters ("" if it does)."""
        if not self.sieve_failure:
            return ""
        when = ""
        if self.sieve_failure_at is not None:
            when = formats.date_format(timezone.localtime(self.sieve_failure_at),
                                       "SHORT_DATETIME_FORMAT")
        values = {"when": when, "reason": self.sieve_failure_reason}
        if self.sieve_failure == self.SieveFailure.REFUSED:
            return gettext("The mail server refused the new filters on %(when)s: %(reason)s. "
                           "They are not active; the filters active before stay in place.") % values
        if self.sieve_failure_restored:
            return gettext("The pushed filters stopped delivery on %(when)s: %(reason)s; "
                           "the previous filters are active again.") % values
        return gettext("The pushed filters stopped delivery on %(when)s: %(reason)s; "
                       "no filters are active until they are changed.") % values

    def autoreply_state_at(self, now) -> "Address.AutoReplyState":
        """What the auto-reply does at `now`. Off as well when it cannot answer: the
        address is disabled, or its advanced script runs instead of the standard one."""
        enabled = (self.autoreply_enabled and self.enabled
                   and self.sieve_mode == self.SieveMode.STANDARD)
        return self.AutoReplyState(autoreply.autoreply_state(
            enabled=enabled, start=self.autoreply_start, end=self.autoreply_end, now=now))

    @property
    def autoreply_state(self) -> "Address.AutoReplyState":
        return self.autoreply_state_at(timezone.now())

    @property
    def autoreply_zone_name(self) -> str:
        """The time zone the period is shown in."""
        return self.autoreply_time_zone or settings.TIME_ZONE


class Alias(models.Model):
    """Another local part of the service's domain delivering to the address."""

    address = models.ForeignKey(Address, on_delete=models.CASCADE, related_name="aliases")
    mail_service = models.ForeignKey(MailService, on_delete=models.CASCADE, related_name="+")
    local_part = models.CharField(_("local part"), max_length=64)
    created = models.DateTimeField(auto_now_add=True)

    organisation_field = "mail_service__organisation"
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["local_part"]
        constraints = [
            models.UniqueConstraint(fields=["mail_service", "local_part"], name="unique_alias"),
        ]

    def __str__(self):
        return f"{self.local_part}@{self.mail_service.domain}"


class Redirection(models.Model):
    """Forward the address's mail to another address, keeping a copy or not."""

    address = models.ForeignKey(Address, on_delete=models.CASCADE, related_name="redirections")
    target = models.EmailField(_("target"))
    keep_copy = models.BooleanField(_("keep a copy"), default=True)
    created = models.DateTimeField(auto_now_add=True)

    organisation_field = "address__mail_service__organisation"
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["target"]
        constraints = [
            models.UniqueConstraint(fields=["address", "target"], name="unique_redirection"),
        ]

    def __str__(self):
        return f"{self.address_id} → {self.target}"

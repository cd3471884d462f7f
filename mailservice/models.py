"""Mail services, addresses, aliases, redirections, access grants, invitations, device
passwords, sorting rules and rule templates. Facts about a row live here; every write is
in the services package."""
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

# invitation_expiry: migration 0001 names it here.
from manager.accounts.models import InvitationLink, invitation_expiry  # noqa: F401
from manager.core.querysets import RestrictedQuerySet, organisation_ids_where

from . import limits
from .plans import PLAN_CHOICES, PLANS, address_limit, storage_limit_mb
from .sieve import active_script as autoreply

CATCHALL_LOCAL_PART = "catchall"
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


class AddressQuerySet(RestrictedQuerySet):
    def restrict(self, user, action="view"):
        """Organisation roles see their organisation's addresses; a person who was given
        access to an address sees that address too (per-address permissions are checked
        by `mailservice.permissions.may_on_address`)."""
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

    @property
    def audit_organisation_id(self):
        return self.mail_service.organisation_id

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

    @property
    def audit_organisation_id(self):
        return self.mail_service.organisation_id


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

    @property
    def audit_organisation_id(self):
        return self.address.mail_service.organisation_id


class Permission(models.TextChoices):
    """What a user may do with an address (SPEC §3)."""

    READ = "read", _("Read mail")
    SEND = "send", _("Send mail")
    MANAGE_RULES = "manage_rules", _("Manage sorting rules")
    MANAGE_SIGNATURE = "manage_signature", _("Manage signature")
    MANAGE_AUTOREPLY = "manage_autoreply", _("Manage auto-reply")
    MANAGE_REDIRECTIONS = "manage_redirections", _("Manage redirections")


class AddressAccess(models.Model):
    """A user of an address, with their permissions on it."""

    address = models.ForeignKey(Address, on_delete=models.CASCADE, related_name="accesses")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="address_accesses")
    permissions = models.JSONField(default=list)  # values of Permission
    created = models.DateTimeField(auto_now_add=True)

    organisation_field = "address__mail_service__organisation"
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["address_id", "user__email"]
        constraints = [models.UniqueConstraint(fields=["address", "user"], name="unique_access")]

    def __str__(self):
        return f"{self.user} on {self.address_id}"

    def has(self, permission: str) -> bool:
        return permission in self.permissions

    @property
    def audit_organisation_id(self):
        return self.address.mail_service.organisation_id


class Invitation(InvitationLink):
    """A single-use link that gives the person with the invited e-mail access to an address
    (and makes them a member of its organisation)."""

    address = models.ForeignKey(Address, on_delete=models.CASCADE, related_name="invitations")
    permissions = models.JSONField(default=list)

    organisation_field = "address__mail_service__organisation"
    objects = RestrictedQuerySet.as_manager()

    def __str__(self):
        return f"invitation {self.pk} to {self.address_id}"

    @property
    def audit_organisation_id(self):
        return self.address.mail_service.organisation_id


class DevicePassword(models.Model):
    """One password per device of a user of an address. Only the SHA-256 of the random
    token is kept: that is what the backend's SQL passdb compares (BACKENDS.md)."""

    class DeviceType(models.TextChoices):
        COMPUTER = "computer", _("Computer")
        PHONE = "phone", _("Phone")
        TABLET = "tablet", _("Tablet")
        OTHER = "other", _("Other application")

    ref = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    access = models.ForeignKey(AddressAccess, on_delete=models.CASCADE, related_name="device_passwords")
    address = models.ForeignKey(Address, on_delete=models.CASCADE, related_name="device_passwords")
    name = models.CharField(_("label"), max_length=100)
    device_type = models.CharField(_("device type"), max_length=16, choices=DeviceType.choices,
                                   default=DeviceType.OTHER)
    token_sha256 = models.CharField(max_length=64, editable=False)
    can_send = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.CharField(_("last used from"), max_length=45, blank=True)
    last_used_protocol = models.CharField(_("last used with"), max_length=16, blank=True)
    revoked = models.DateTimeField(null=True, blank=True)

    organisation_field = "address__mail_service__organisation"
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["address", "revoked"])]

    def __str__(self):
        return f"{self.name} ({self.device_type})"

    @property
    def audit_organisation_id(self):
        return self.address.mail_service.organisation_id



class SortingRule(models.Model):
    """One standard-mode rule; `conditions` and `actions` hold the plain-data form of
    `mailservice.sieve.rules` (see `rule_to_dict`). Rules run in `position` order."""

    class Match(models.TextChoices):
        ALL = "all", _("All conditions")
        ANY = "any", _("Any condition")

    address = models.ForeignKey(Address, on_delete=models.CASCADE, related_name="sorting_rules")
    name = models.CharField(_("name"), max_length=200)
    enabled = models.BooleanField(_("enabled"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    match = models.CharField(_("match"), max_length=8, choices=Match.choices, default=Match.ALL)
    conditions = models.JSONField(_("conditions"), default=list)
    actions = models.JSONField(_("actions"), default=list)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    organisation_field = "address__mail_service__organisation"
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["position", "pk"]
        indexes = [models.Index(fields=["address", "position"])]

    def __str__(self):
        return self.name

    @property
    def audit_organisation_id(self):
        return self.address.mail_service.organisation_id


class RuleTemplate(models.Model):
    """A named rule set that can be applied to every address of the mail service."""

    mail_service = models.ForeignKey(MailService, on_delete=models.CASCADE,
                                     related_name="rule_templates")
    name = models.CharField(_("name"), max_length=200)
    rules = models.JSONField(_("rules"), default=list)
    for_new_addresses = models.BooleanField(
        _("for new addresses"), default=False,
        help_text=_("Give these rules to every address created later in the mail service."))
    created = models.DateTimeField(auto_now_add=True)

    organisation_field = "mail_service__organisation"
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name

    @property
    def audit_organisation_id(self):
        return self.mail_service.organisation_id


class DeliveryEvent(models.Model):
    """One (message, recipient) of the delivery log, read from a backend host's Postfix
    and Dovecot logs (`mailservice.delivery.parse`), kept `DELIVERY_LOG_DAYS` days. A
    deferral and the delivery that follows are one event whose status moves on."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")
        DELIVERED = "delivered", _("Delivered")
        FORWARDED = "forwarded", _("Forwarded")
        SENT = "sent", _("Sent")
        DEFERRED = "deferred", _("Deferred")
        BOUNCED = "bounced", _("Bounced")

    class Direction(models.TextChoices):
        INCOMING = "in", _("Received")
        OUTGOING = "out", _("Sent by an address")

    mail_service = models.ForeignKey(MailService, on_delete=models.CASCADE, null=True,
                                     related_name="delivery_events")
    # The address the mail was for (recipient, else the original recipient), and the
    # address that sent it (authenticated submission); None when not ours. An address
    # deleted leaves its events to the service's administrators.
    address = models.ForeignKey(Address, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="delivery_events")
    sender_address = models.ForeignKey(Address, on_delete=models.SET_NULL, null=True, blank=True,
                                       related_name="sent_delivery_events")
    host = models.CharField(_("backend host"), max_length=100)
    queue_id = models.CharField(_("queue id"), max_length=20, blank=True)
    time = models.DateTimeField(_("time"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices,
                                 default=Direction.INCOMING)
    sender = models.CharField(_("sender"), max_length=254, blank=True)
    recipient = models.CharField(_("recipient"), max_length=254, blank=True)
    original_recipient = models.CharField(_("original recipient"), max_length=254, blank=True)
    sasl_username = models.CharField(_("login"), max_length=254, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=255, blank=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    size = models.BigIntegerField(_("size"), null=True, blank=True)
    dsn = models.CharField(_("DSN"), max_length=16, blank=True)
    reason = models.TextField(_("server's reply"), blank=True)
    relay = models.CharField(_("relay"), max_length=255, blank=True)
    session = models.CharField(max_length=64, blank=True)  # Dovecot's LMTP session id
    folder = models.CharField(_("folder"), max_length=255, blank=True)
    sieve_action = models.TextField(_("filter action"), blank=True)

    organisation_field = "mail_service__organisation"
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-time", "-id"]
        indexes = [
            models.Index(fields=["address", "-time"], name="delivery_address_time"),
            models.Index(fields=["sender_address", "-time"], name="delivery_sender_time"),
            models.Index(fields=["mail_service", "-time"], name="delivery_service_time"),
            models.Index(fields=["message_id"], name="delivery_message_id"),
            models.Index(fields=["time"], name="delivery_time"),  # the purge
            models.Index(fields=["host", "queue_id"], name="delivery_queue_id"),
            models.Index(fields=["host", "session"], name="delivery_session"),
        ]

    def __str__(self):
        return f"{self.queue_id or 'NOQUEUE'} {self.recipient} {self.status}"

    @property
    def audit_organisation_id(self):
        return self.mail_service.organisation_id if self.mail_service_id else None


class DeliveryLogCursor(models.Model):
    """Where the delivery log's reader of one backend host stopped in each file (inode
    and offset), and the correlator's memory of messages still in the queue. Written in
    the same transaction as the events it led to."""

    host = models.CharField(max_length=100, unique=True)
    postfix_inode = models.BigIntegerField(default=0)
    postfix_offset = models.BigIntegerField(default=0)
    # The hash of the file's first line: finds the file again once rotated and compressed.
    postfix_head = models.CharField(max_length=64, blank=True)
    dovecot_inode = models.BigIntegerField(default=0)
    dovecot_offset = models.BigIntegerField(default=0)
    dovecot_head = models.CharField(max_length=64, blank=True)
    state = models.JSONField(default=dict)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self):
        return self.host


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
    def audit_organisation_id(self):
        return self.mail_service.organisation_id

    @property
    def is_published(self) -> bool:
        """Its selector record is in the zone (or on the owner's list of records)."""
        return self.state in (self.State.PUBLISHING, self.State.ACTIVE, self.State.RETIRED)

"""The people of an address: its users and their permissions, the invitations that make
someone a user, and each user's device passwords."""
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from manager.accounts.models import InvitationLink
from manager.core.querysets import RestrictedQuerySet

from .addresses import Address


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


class Invitation(InvitationLink):
    """A single-use link that gives the person with the invited e-mail access to an address
    (and makes them a member of its organisation)."""

    address = models.ForeignKey(Address, on_delete=models.CASCADE, related_name="invitations")
    permissions = models.JSONField(default=list)

    organisation_field = "address__mail_service__organisation"
    objects = RestrictedQuerySet.as_manager()

    def __str__(self):
        return f"invitation {self.pk} to {self.address_id}"


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

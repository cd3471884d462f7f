"""Bans across web, API and mail logins (SPEC §7): the failures counted and the bans
they lead to. Networks are stored as text ("203.0.113.7/32", "2001:db8:1:2::/64"): an
IPv6 client is counted per /64, since one host usually holds a whole /64."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuthFailure(models.Model):
    """One failed authentication; kept for the longest counting window."""

    network = models.CharField(max_length=64)
    account = models.CharField(max_length=254, blank=True)  # "" for an API token
    protocol = models.CharField(max_length=16)
    time = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["network", "account", "time"], name="authfailure_net_account")]

    def __str__(self):
        return f"{self.protocol} failure for {self.account or '*'} from {self.network}"


class Ban(models.Model):
    class Reason(models.TextChoices):
        FAILURES = "failures", _("Too many failed logins")
        SPRAYING = "spraying", _("Failed logins to many accounts")

    network = models.CharField(_("network"), max_length=64)
    # The account banned from that network; "" = every account (spraying, API tokens).
    account = models.CharField(_("account"), max_length=254, blank=True)
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    protocol = models.CharField(_("protocol"), max_length=16)
    created = models.DateTimeField(_("since"))
    expires = models.DateTimeField(_("until"))
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["network", "expires"], name="ban_network_expires")]

    def __str__(self):
        return f"{self.account or '*'} from {self.network}"


class AllowedNetwork(models.Model):
    """A network an organisation's owner or administrator took out of the bans for the
    organisation's own accounts, after accepting a warning: which text, who, when."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE,
                                     related_name="allowed_networks")
    network = models.CharField(_("network"), max_length=64)
    label = models.CharField(_("label"), max_length=100, blank=True)
    warning_version = models.PositiveIntegerField()
    warning_text = models.TextField()  # the words accepted, as shown then
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                    related_name="+")
    accepted_at = models.DateTimeField(_("accepted at"))

    class Meta:
        ordering = ["network"]
        constraints = [models.UniqueConstraint(fields=["organisation", "network"],
                                               name="unique_allowed_network")]

    def __str__(self):
        return self.network

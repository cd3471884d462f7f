"""The change log: who changed what, when, with before/after values."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from manager.core.querysets import RestrictedManager


class AuditEntry(models.Model):
    class Action(models.TextChoices):
        CREATE = "create", _("Created")
        UPDATE = "update", _("Updated")
        DELETE = "delete", _("Deleted")
        OTHER = "other", _("Other")

    time = models.DateTimeField(auto_now_add=True, db_index=True)
    organisation = models.ForeignKey(
        "accounts.Organisation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=254, blank=True)  # survives the actor's deletion
    request_id = models.CharField(max_length=64, blank=True, db_index=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    verb = models.CharField(max_length=64, blank=True)  # e.g. "device_password.revoke"
    object_type = models.CharField(max_length=100, db_index=True)  # "accounts.organisation"
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)  # {field: [before, after]}

    organisation_field = "organisation"
    objects = RestrictedManager()

    class Meta:
        ordering = ["-time", "-id"]
        indexes = [models.Index(fields=["organisation", "-time"])]
        verbose_name_plural = "audit entries"

    def __str__(self):
        return f"{self.time:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"

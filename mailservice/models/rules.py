"""Sorting rules of an address (standard mode) and the mail service's rule templates."""
from django.db import models
from django.utils.translation import gettext_lazy as _

from manager.core.querysets import RestrictedQuerySet

from .addresses import Address
from .mail_services import MailService


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

"""Reads of the mail tools."""
from mailservice.models import Address, Permission
from mailservice.permissions import may_on_address

from .models import PhishingReport


def reports_for(user):
    """The reports the person may see (the gate: their organisations' as a manager, their
    own otherwise), newest first, without the stored originals (a list never needs them)."""
    return (PhishingReport.objects.restrict(user, "view").select_related("reporter", "organisation")
            .defer("original"))


def rule_addresses(user, limit: int = 200) -> list[Address]:
    """Addresses on which the person may manage sorting rules: the choice offered by
    "Create a rule from this e-mail"."""
    candidates = Address.objects.restrict(user, "view").select_related("mail_service").order_by(
        "mail_service__domain", "local_part")[: limit * 2]
    return [a for a in candidates if may_on_address(user, Permission.MANAGE_RULES, a)][:limit]

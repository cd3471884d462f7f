"""The one role → action map of the platform. Every permission check reads it."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    LEGAL_REPRESENTATIVE = "legal_representative", _("Legal representative")
    ADMIN = "admin", _("Administrator")
    MEMBER = "member", _("Member")


# Actions. `view_organisation`: know that the organisation exists (its name, the switcher);
# every role has it. `view`: see the organisation's objects (its mail services, addresses,
# members…): a `member` does not — a member is a person who uses some addresses, and sees
# those through their grants only (mailservice.models.AddressQuerySet), nothing else.
VIEW_ORGANISATION = "view_organisation"
VIEW = "view"
ADD = "add"
CHANGE = "change"
DELETE = "delete"
MANAGE_MEMBERS = "manage_members"  # add / remove members, change roles
VIEW_AUDIT = "view_audit"
MANAGE_ORGANISATION = "manage_organisation"  # rename, delete the organisation itself

_MANAGERS = {VIEW_ORGANISATION, VIEW, ADD, CHANGE, DELETE, MANAGE_MEMBERS, VIEW_AUDIT}

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    Role.OWNER: frozenset(_MANAGERS | {MANAGE_ORGANISATION}),
    Role.LEGAL_REPRESENTATIVE: frozenset(_MANAGERS | {MANAGE_ORGANISATION}),
    Role.ADMIN: frozenset(_MANAGERS),
    Role.MEMBER: frozenset({VIEW_ORGANISATION}),
}

ACTIONS = frozenset().union(*ROLE_ACTIONS.values())


def roles_allowed(action: str) -> list[str]:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    return [role for role, actions in ROLE_ACTIONS.items() if action in actions]


def role_allows(role: str | None, action: str) -> bool:
    return role is not None and action in ROLE_ACTIONS.get(role, ())

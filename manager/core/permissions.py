"""Object-level checks through the same role map as `.restrict()`."""
from manager.accounts.roles import role_allows

from .querysets import user_role


def organisation_id_of(obj):
    """The owning organisation's id of any organisation-owned object."""
    value = getattr(obj, "audit_organisation_id", None)
    if value is None:
        value = obj.organisation_id
    return value


def may(user, action, obj=None, *, organisation_id=None) -> bool:
    """Does the user's role in the object's (or given) organisation allow the action?"""
    if organisation_id is None:
        organisation_id = organisation_id_of(obj)
    if action == "view" and obj is not None:
        action = getattr(obj, "view_action", action)
    return role_allows(user_role(user, organisation_id), action)

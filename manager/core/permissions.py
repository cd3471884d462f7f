"""Object-level checks through the same role map as `.restrict()`."""
from manager.accounts.roles import role_allows

from .querysets import user_role


def organisation_id_of(obj):
    """The owning organisation's id of any organisation-owned object, found along the
    model's `organisation_field` (the path `.restrict()` filters on, e.g.
    "address__mail_service__organisation"); None where a link on the way is empty."""
    path = getattr(obj, "organisation_field", "organisation")
    if not path:  # the organisation itself
        return getattr(obj, "organisation_id", None)
    *through, last = path.split("__")
    for name in through:
        if getattr(obj, f"{name}_id", None) is None:
            return None
        obj = getattr(obj, name)
    return getattr(obj, f"{last}_id", None)


def may(user, action, obj=None, *, organisation_id=None) -> bool:
    """Does the user's role in the object's (or given) organisation allow the action?"""
    if organisation_id is None:
        organisation_id = organisation_id_of(obj)
    if action == "view" and obj is not None:
        action = getattr(obj, "view_action", action)
    return role_allows(user_role(user, organisation_id), action)

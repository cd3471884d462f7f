"""The one permission gate: organisation-owned querysets restrict themselves to a user."""
from django.db import models

from manager.accounts.roles import roles_allowed


class RestrictedQuerySet(models.QuerySet):
    """`.restrict(user, action)` keeps the rows of organisations where the user's role
    allows the action. Models set `organisation_field` to the lookup path of their
    organisation ("" for Organisation itself) and may set `view_action`: what "view"
    means for them (an Organisation is seen by all its members, its objects are not)."""

    def restrict(self, user, action="view"):
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if action == "view":
            action = getattr(self.model, "view_action", action)
        path = self.model.organisation_field
        org_ids = organisation_ids_where(user, action)
        return self.filter(**{f"{path}__in" if path else "pk__in": org_ids})


def user_organisation_ids(user, action):
    """Organisation ids where `user` may do `action`, memoised on the user object for the
    request so lists don't repeat the membership query."""
    cache = user.__dict__.setdefault("_mm_org_roles", None)
    if cache is None:
        from manager.accounts.models import Membership

        cache = dict(Membership.objects.filter(user=user).values_list("organisation_id", "role"))
        user.__dict__["_mm_org_roles"] = cache
    allowed = set(roles_allowed(action))
    return [org_id for org_id, role in cache.items() if role in allowed]


def organisation_ids_where(user, action):
    """For a filter: the organisations where `user` may do `action` — the memoised list
    when this request already read the memberships, else a subquery, so a request that
    only reads rows asks the database once (and sees memberships as they are now)."""
    cache = user.__dict__.get("_mm_org_roles")
    if cache is not None:
        return user_organisation_ids(user, action)
    from manager.accounts.models import Membership

    return Membership.objects.filter(user=user, role__in=roles_allowed(action)).values(
        "organisation_id")


def user_role(user, organisation_id):
    if user is None or not user.is_authenticated:
        return None
    user_organisation_ids(user, "view")  # fills the cache
    return user.__dict__["_mm_org_roles"].get(organisation_id)


def forget_roles(user):
    """Call after a membership change made within the same request."""
    user.__dict__.pop("_mm_org_roles", None)


class RestrictedManager(models.Manager.from_queryset(RestrictedQuerySet)):
    pass

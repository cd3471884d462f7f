"""Template context for the shell: the switcher's organisations and the current role."""
from manager.core.querysets import user_role

from .models import Organisation
from .roles import MANAGE_MEMBERS, VIEW, VIEW_AUDIT, Role, role_allows


def organisations(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    current = request.organisation
    role = user_role(user, current.pk) if current else None
    return {
        "my_organisations": Organisation.objects.restrict(user, "view"),
        "current_organisation": current,
        "current_role": role,
        "current_role_label": Role(role).label if role else "",
        # The shell shows only what the role can use: a person who uses addresses sees
        # "My mail", not the organisation's management.
        "can_view_organisation": role_allows(role, VIEW),
        "can_manage_members": role_allows(role, MANAGE_MEMBERS),
        "can_view_audit": role_allows(role, VIEW_AUDIT),
    }

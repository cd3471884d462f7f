"""Template context for the shell: the switcher's organisations and the current role."""
from manager.core.querysets import user_role

from .models import Organisation
from .roles import Role


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
    }

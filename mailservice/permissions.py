"""Per-address permissions, through the same role map as the organisation gate.

Who sees an address at all is `Address.objects.restrict(user, "view")` (organisation
managers, and the people who use the address); what each of them may do there is
decided here: managers everything, a user of the address what they were granted. A page
or endpoint they may not use answers 403 with a message naming the missing permission."""
from django.utils.translation import gettext as _

from manager.accounts.roles import CHANGE
from manager.core.errors import ServiceError
from manager.core.permissions import may

from .models import AddressAccess, Permission

# What each part of an address needs (any one of the permissions).
CLIENT_SETUP = (Permission.READ, Permission.SEND)
DEVICE_PASSWORDS = (Permission.READ, Permission.SEND)
FOLDERS = (Permission.READ, Permission.MANAGE_RULES)


def manages(user, address) -> bool:
    """Owner / legal representative / admin of the address's organisation."""
    return may(user, CHANGE, organisation_id=address.mail_service.organisation_id)


def granted(user, address) -> list[str]:
    """The permissions the user was given on the address ([] when not a user of it)."""
    if user is None or not user.is_authenticated:
        return []
    # Not memoised: a grant changed by a service in the same request must count at once.
    access = AddressAccess.objects.filter(address=address, user=user).first()
    return list(access.permissions) if access is not None else []


def may_on_address(user, permission: str, address) -> bool:
    """Organisation managers may everything; a user of the address what was granted."""
    if permission not in Permission.values:
        raise ValueError(permission)
    return manages(user, address) or permission in granted(user, address)


def may_any(user, address, permissions) -> bool:
    return manages(user, address) or bool(set(permissions) & set(granted(user, address)))


def labels(permissions) -> list[str]:
    """The permissions in the user's words, in the order of `Permission`."""
    names = dict(Permission.choices)
    return [names[p] for p in Permission.values if p in permissions]


def permission_message(permissions) -> str:
    """ "You need the “Read mail” permission on this address." (or "… or …")."""
    labels = dict(Permission.choices)
    names = [str(labels[p]) for p in permissions]
    if len(names) == 1:
        return _("You need the “%(permission)s” permission on this address.") % {
            "permission": names[0]}
    return _("You need the “%(first)s” or “%(second)s” permission on this address.") % {
        "first": "”, “".join(names[:-1]), "second": names[-1]}


def administrators_only_message() -> str:
    return _("Only the organisation's administrators may do this.")


def permission_refused(permissions=None) -> ServiceError:
    """The 403 of a person who sees the address but lacks the permission (`None`: the
    part is for administrators only)."""
    message = permission_message(permissions) if permissions else administrators_only_message()
    return ServiceError(message, code="permission_denied", status=403)


def require_any(user, address, permissions) -> None:
    if not may_any(user, address, permissions):
        raise permission_refused(permissions)


def require_manager(user, address) -> None:
    if not manages(user, address):
        raise permission_refused()

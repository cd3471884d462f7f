"""Per-address permissions, through the same role map as the organisation gate."""
from manager.accounts.roles import CHANGE
from manager.core.permissions import may

from .models import AddressAccess, Permission


def manages(user, address) -> bool:
    """Owner / legal representative / admin of the address's organisation."""
    return may(user, CHANGE, organisation_id=address.mail_service.organisation_id)


def may_on_address(user, permission: str, address) -> bool:
    """Organisation managers may everything; a user of the address what was granted."""
    if permission not in Permission.values:
        raise ValueError(permission)
    if manages(user, address):
        return True
    if user is None or not user.is_authenticated:
        return False
    access = AddressAccess.objects.filter(address=address, user=user).first()
    return access is not None and access.has(permission)

"""Mail services, addresses, aliases, redirections, access grants, invitations, device
passwords, sorting rules, rule templates, the delivery log and DKIM keys. Facts about a
row live here; every write is in the services package. One module per area; the names
are imported from here."""

# invitation_expiry: migration 0001 names it here.
from manager.accounts.models import invitation_expiry  # noqa: F401

# Imported in this order, the models register in the order they always had.
# isort: off
from .mail_services import PUSH_KIND, MailService, MailServiceQuerySet
from .addresses import CATCHALL_LOCAL_PART, Address, AddressQuerySet, Alias, Redirection
from .people import AddressAccess, DevicePassword, Invitation, Permission
from .rules import RuleTemplate, SortingRule
from .delivery_log import DeliveryEvent, DeliveryLogCursor
from .dkim import DkimKey
# isort: on

__all__ = [
    "CATCHALL_LOCAL_PART", "PUSH_KIND", "Address", "AddressAccess", "AddressQuerySet", "Alias",
    "DeliveryEvent", "DeliveryLogCursor", "DevicePassword", "DkimKey", "Invitation",
    "MailService", "MailServiceQuerySet", "Permission", "Redirection", "RuleTemplate",
    "SortingRule",
]

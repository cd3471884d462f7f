"""Writes of the mail app (HackSoft services): views, serializers, commands and tasks call
these and nothing else writes. `mail` holds services, addresses, aliases and
redirections; `people` the users of an address, invitations and device passwords."""
from .common import PUSH_KIND, _denied, push, require_feature
from .mail import (
    address_create,
    address_delete,
    address_update,
    alias_create,
    alias_delete,
    mail_service_create,
    mail_service_delete,
    mail_service_sync,
    mail_service_update,
    redirection_create,
    redirection_delete,
)
from .people import (
    access_disconnect_devices,
    access_grant,
    access_remove,
    access_update,
    device_password_create,
    device_password_revoke,
    invitation_accept,
    invitation_by_token,
    invitation_create,
    invitation_resend,
    invitation_revoke,
    invitation_url,
    new_device_secret,
)

__all__ = [
    "PUSH_KIND", "_denied", "access_disconnect_devices", "access_grant", "access_remove",
    "access_update", "address_create", "address_delete", "address_update", "alias_create",
    "alias_delete", "device_password_create", "device_password_revoke", "invitation_accept",
    "invitation_by_token", "invitation_create", "invitation_resend", "invitation_revoke",
    "invitation_url", "mail_service_create", "mail_service_delete", "mail_service_sync",
    "mail_service_update", "new_device_secret", "push", "redirection_create",
    "redirection_delete", "require_feature",
]

"""Writes of the mail app (HackSoft services): views, serializers, commands and tasks call
these and nothing else writes. One module per area: `mail` (mail services, addresses,
aliases, redirections), `removal` (removing and restoring services and addresses, and their
purge), `plan_limits` (the room a plan leaves for addresses), `people` (users of an address,
invitations, device passwords), `rules` (sorting rules, advanced mode), `templates` (rule
templates), `folders` (the mailbox's folders, in the backend), `rule_tester` (a message
through the address's filters)."""
from .common import PUSH_KIND, push, require_feature
from .dkim import dkim_advance, dkim_rotate
from .dns_records import mail_records_install
from .folders import folder_choices, folder_create, folder_list
from .mail import (
    address_create,
    address_update,
    addresses_bulk,
    alias_create,
    alias_delete,
    mail_service_create,
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
    device_password_record_use,
    device_password_revoke,
    device_passwords_revoke_unused,
    invitation_accept,
    invitation_by_token,
    invitation_create,
    invitation_resend,
    invitation_revoke,
    invitation_url,
    new_device_secret,
)
from .removal import address_delete, address_restore, mail_service_delete, mail_service_restore
from .rule_tester import MAX_MESSAGE_BYTES, check_message_size, run_rule_test
from .rules import (
    MAX_RULES_PER_ADDRESS,
    MAX_SCRIPT_BYTES,
    decode_sieve_file,
    invalid_sieve,
    parse_rule,
    rule_create,
    rule_delete,
    rule_duplicate,
    rule_move,
    rule_update,
    rules_reorder,
    sieve_import,
    sieve_set,
)
from .templates import (
    ADVANCED_MODE,
    TemplateApplication,
    apply_templates_to_new_address,
    template_apply,
    template_create,
    template_delete,
    template_update,
)

__all__ = [
    "ADVANCED_MODE", "MAX_MESSAGE_BYTES", "MAX_RULES_PER_ADDRESS", "MAX_SCRIPT_BYTES",
    "PUSH_KIND", "TemplateApplication", "access_disconnect_devices", "access_grant",
    "access_remove", "access_update", "address_create", "address_delete", "address_restore", "address_update",
    "addresses_bulk", "alias_create", "alias_delete", "apply_templates_to_new_address",
    "check_message_size", "decode_sieve_file", "dkim_advance", "dkim_rotate", "device_password_create",
    "device_password_record_use", "device_password_revoke", "device_passwords_revoke_unused",
    "folder_choices", "folder_create",
    "folder_list", "invalid_sieve", "mail_records_install", "invitation_accept", "invitation_by_token",
    "invitation_create", "invitation_resend", "invitation_revoke", "invitation_url",
    "mail_service_create", "mail_service_delete", "mail_service_restore", "mail_service_sync", "mail_service_update",
    "new_device_secret", "parse_rule", "push", "redirection_create", "redirection_delete",
    "require_feature", "rule_create", "rule_delete", "rule_duplicate", "rule_move",
    "rule_update", "rules_reorder", "run_rule_test", "sieve_import", "sieve_set",
    "template_apply", "template_create", "template_delete", "template_update",
]

"""Mailbox folders, read from and created in the backend (not stored by Mail Manager)."""
import logging

from django.utils.translation import gettext as _

from manager.audit import services as audit
from manager.core.errors import ServiceError
from manager.core.outbox import PushError

from ..backends.base import BackendError
from ..models import Permission
from ..permissions import FOLDERS, may_on_address, permission_refused, require_any
from ..sieve.rules import FOLDER_ACTIONS, folder_errors, normalize_folder

log = logging.getLogger(__name__)


def _backend(address):
    from ..push import backend_for

    return backend_for(address.mail_service.backend_host)


def _unavailable(exc):
    return ServiceError(_("The mail backend could not be reached: %(e)s") % {"e": exc},
                        code="backend_unavailable", status=422)


def folder_list(*, actor, address) -> list[str]:
    require_any(actor, address, FOLDERS)
    try:
        return _backend(address).list_folders(address.email)
    except (PushError, BackendError) as exc:
        raise _unavailable(exc) from exc


def folder_create(*, actor, address, name: str) -> str:
    """Create a folder (sub-folders with "/") in the mailbox now, through the backend."""
    if not may_on_address(actor, Permission.MANAGE_RULES, address):
        raise permission_refused([Permission.MANAGE_RULES])
    errors = folder_errors(name or "")
    if errors:
        raise ServiceError(" ".join(errors), code="invalid_folder", fields={"name": errors})
    name = normalize_folder(name)
    if not address.enabled:
        raise ServiceError(_("The address is disabled."), code="address_disabled", status=409)
    try:
        _backend(address).create_folder(address.email, name)
    except (PushError, BackendError) as exc:
        raise _unavailable(exc) from exc
    audit.record(actor=actor, action="other", obj=address, verb="folder.create", after={"folder": name})
    return name


def folders_in_mailbox(address) -> list[str] | None:
    """The mailbox's folders as the backend lists them; None when it cannot be reached (no
    gate: callers have checked one)."""
    try:
        return _backend(address).list_folders(address.email)
    except (PushError, BackendError, OSError) as exc:
        log.info("folders of %s not available: %s", address.email, exc)
        return None


def folder_choices(*, actor, address, rules=()) -> list[str]:
    """The folders the rule form offers: the mailbox's real ones and, without a reachable
    backend, at least those its rules already name (`rules`: stored sorting rules)."""
    if not may_on_address(actor, Permission.MANAGE_RULES, address):
        raise permission_refused([Permission.MANAGE_RULES])
    names = folders_in_mailbox(address) or []
    for rule in rules:
        for item in rule.actions or ():
            if item.get("kind") in FOLDER_ACTIONS and item.get("argument"):
                names.append(item["argument"])
    return sorted({n for n in names if n and n.upper() != "INBOX"}, key=str.lower)

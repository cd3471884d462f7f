"""Removal: a removed mail service or address is no longer served at once, but its mail
and rows are kept, restorable, for the grace period (MAIL_REMOVAL_GRACE_DAYS). Once past
it, its backend data (mail homes, Sieve scripts, user database rows) is purged on its
backend host and then its rows are deleted. The purge is run by tasks; `now` is always
passed in, so a test or an operator can run it for a given moment without touching the
clock."""
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from manager.accounts.roles import DELETE
from manager.audit import services as audit
from manager.core.errors import Conflict, ServiceError

from ..models import Address, MailService
from .common import ADDRESS_FIELDS, SERVICE_FIELDS, _require, push, require_feature
from .dns_records import mail_records_install, mail_records_remove

log = logging.getLogger(__name__)

# --- Removal and restore ---------------------------------------------------------------

def grace_period() -> timedelta:
    return timedelta(days=settings.MAIL_REMOVAL_GRACE_DAYS)


def removal_dates(obj) -> dict[str, str]:
    """When a removed service or address was removed and until when it can be restored,
    as shown to people."""
    def shown(moment):
        return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")

    return {"removed": shown(obj.removed_at), "until": shown(obj.purge_after)}


def _mark_removed(obj) -> None:
    now = timezone.now()
    obj.removed_at, obj.purge_after, obj.purge_started_at = now, now + grace_period(), None
    obj.save(update_fields=["removed_at", "purge_after", "purge_started_at"])


def _refuse_if_purging(obj, what: str) -> None:
    if obj.purge_started_at is not None:
        raise Conflict(_("The mail of %(what)s is being purged; it can no longer be restored.")
                       % {"what": what}, code="purge_started")


@transaction.atomic
def mail_service_delete(*, actor, service: MailService) -> None:
    """Stop serving the service at once; its mail and addresses are kept, restorable,
    until the grace period ends and the purge deletes them (below)."""
    _require(actor, DELETE, service.organisation_id)
    service = MailService.objects.select_for_update().get(pk=service.pk)
    _mark_removed(service)
    audit.record(actor=actor, action="delete", obj=service,
                 before={**audit.snapshot(service, SERVICE_FIELDS), "purge_after": None},
                 after={"purge_after": service.purge_after.isoformat()})
    mail_records_remove(actor=actor, service=service)
    push(service)  # the push of a service not in use removes it from the backend


@transaction.atomic
def mail_service_restore(*, actor, service: MailService) -> MailService:
    """Serve a removed service again, with its addresses and their mail."""
    _require(actor, DELETE, service.organisation_id)
    service = MailService.removed.select_for_update().get(pk=service.pk)
    _refuse_if_purging(service, service.domain)
    before = {"purge_after": service.purge_after.isoformat()}
    service.removed_at = service.purge_after = None
    service.save(update_fields=["removed_at", "purge_after"])
    audit.record(actor=actor, action="other", verb="mail_service.restore", obj=service,
                 before=before, after={"purge_after": None})
    mail_records_install(actor=actor, service=service)
    push(service)
    return service


@transaction.atomic
def address_delete(*, actor, address: Address) -> None:
    """Stop serving the address at once (no mail, no login); its mail, users and settings
    are kept, restorable, until the grace period ends and the purge deletes them."""
    _require(actor, DELETE, address.mail_service.organisation_id)
    address = (Address.objects.select_for_update(of=("self",)).select_related("mail_service")
               .get(pk=address.pk))
    _mark_removed(address)
    audit.record(actor=actor, action="delete", obj=address,
                 before={**audit.snapshot(address, ADDRESS_FIELDS), "purge_after": None},
                 after={"purge_after": address.purge_after.isoformat()})
    push(address.mail_service)


@transaction.atomic
def address_restore(*, actor, address: Address) -> Address:
    """Serve a removed address again, with its mail, aliases, users and device passwords,
    if the plan still allows it."""
    _require(actor, DELETE, address.mail_service.organisation_id)
    service = MailService.objects.select_for_update().get(pk=address.mail_service_id)
    address = Address.removed.select_for_update().get(pk=address.pk)
    address.mail_service = service
    _refuse_if_purging(address, address.email)
    if service.addresses.count() >= service.address_limit:
        raise ServiceError(
            _("The %(plan)s plan allows %(limit)d address(es) on %(domain)s; the limit is reached.")
            % {"plan": service.plan_info.name, "limit": service.address_limit, "domain": service.domain},
            code="plan_limit_reached", status=403)
    if address.is_catchall:
        require_feature(service, "catchall")
    if address.sieve_mode == Address.SieveMode.ADVANCED:
        require_feature(service, "advanced_sieve")
    before = {"purge_after": address.purge_after.isoformat()}
    address.removed_at = address.purge_after = None
    address.save(update_fields=["removed_at", "purge_after"])
    audit.record(actor=actor, action="other", verb="address.restore", obj=address,
                 before=before, after={"purge_after": None})
    push(service)
    return address


# --- The purge, past the grace period --------------------------------------------------


def _due(model, now: datetime):
    """Removed rows past their grace period, including those whose purge began and failed
    (it is idempotent, so it simply runs again)."""
    return model.with_removed.filter(removed_at__isnull=False, purge_after__lte=now)


def due_purges(now: datetime) -> list[tuple[str, str, int]]:
    """(backend host, "mail_service" or "address", id) of every purge due at `now`."""
    services = _due(MailService, now).values_list("backend_host", "pk")
    addresses = _due(Address, now).values_list("mail_service__backend_host", "pk")
    return ([(host, "mail_service", pk) for host, pk in services.order_by("pk")]
            + [(host, "address", pk) for host, pk in addresses.order_by("pk")])


def _start(model, pk: int, now: datetime):
    """Claim the purge with one conditional update, so that a restore can no longer win
    (it refuses once purge_started_at is set); None if restored or not due."""
    claimed = _due(model, now).filter(pk=pk).update(purge_started_at=timezone.now())
    if not claimed:
        return None
    return model.with_removed.select_related(
        "mail_service" if model is Address else "organisation").get(pk=pk)


def address_purge(*, address_id: int, now: datetime) -> bool:
    """On the address's backend host: delete its mail and data, then its rows. False if it
    was restored (or is not due). A backend error leaves it to the next run."""
    from ..push import backend_for

    address = _start(Address, address_id, now)
    if address is None:
        return False
    backend_for(address.mail_service.backend_host).purge_mailbox(address.email)
    with transaction.atomic():
        audit.record(actor=None, action="delete", obj=address, verb="address.purge",
                     before={"purge_after": address.purge_after.isoformat()})
        address.delete()
    log.info("purged %s", address.email)
    return True


def mail_service_purge(*, service_id: int, now: datetime) -> bool:
    """On the service's backend host: delete the mail and data of every address it had,
    then the service's rows."""
    from ..push import backend_for

    service = _start(MailService, service_id, now)
    if service is None:
        return False
    emails = [f"{local_part}@{service.domain}" for local_part in
              Address.with_removed.filter(mail_service=service).values_list("local_part", flat=True)]
    backend_for(service.backend_host).purge_service(service.domain, emails)
    with transaction.atomic():
        audit.record(actor=None, action="delete", obj=service, verb="mail_service.purge",
                     before={"purge_after": service.purge_after.isoformat(),
                             "addresses": len(emails)})
        service.delete()
    log.info("purged %s and its %d address(es)", service.domain, len(emails))
    return True

"""The end of a removal: once a removed mail service or address is past its grace period,
its backend data (mail homes, Sieve scripts, user database rows) is purged on its backend
host and then its rows are deleted. Run by tasks; `now` is always passed in, so a test
or an operator can run the purge for a given moment without touching the clock."""
import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from manager.audit import services as audit

from ..models import Address, MailService

log = logging.getLogger(__name__)


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

"""Writes the backend's word on each address's filters: held back before activation, or
replaced after they stopped delivery (`backends.base.SieveHold`), and cleared once the
address's current filters run."""
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import Q

from manager.audit import services as audit

from ..backends.base import SieveHold
from ..models import Address, MailService

_KINDS = {SieveHold.REFUSED: Address.SieveFailure.REFUSED,
          SieveHold.STOPPED_DELIVERY: Address.SieveFailure.STOPPED_DELIVERY}
_VERBS = {SieveHold.REFUSED: "sieve.refused", SieveHold.STOPPED_DELIVERY: "sieve.fell_back"}


@transaction.atomic
def record_sieve_holds(holds: Iterable[SieveHold], *, service: MailService | None = None,
                       since: datetime | None = None) -> list[Address]:
    """Give each held address its failure, with an audit entry when it is new. With
    `service` (after a push of it): the service's other addresses whose failure is older
    than `since` (when the push started) lose it; a failure found by the delivery watch
    while the push ran is kept. Returns the addresses whose failure changed."""
    by_domain: dict[str, dict[str, SieveHold]] = defaultdict(dict)
    for hold in holds:
        local_part, _at, domain = hold.email.lower().rpartition("@")
        by_domain[domain][local_part] = hold
    if service is not None:
        by_domain.setdefault(service.domain.lower(), {})
    services = {s.domain.lower(): s for s in MailService.objects.filter(domain__in=list(by_domain))}
    changed = []
    for domain, held in by_domain.items():
        found = services.get(domain)
        if found is None:
            continue
        clearing = service is not None and found.pk == service.pk
        candidates = Q(local_part__in=list(held))
        if clearing:
            candidates |= ~Q(sieve_failure=Address.SieveFailure.NONE)
        for address in Address.objects.select_for_update().filter(candidates, mail_service=found):
            address.mail_service = found
            hold = held.get(address.local_part.lower())
            if hold is None:
                if not clearing or not address.sieve_failure:
                    continue
                if since is not None and address.sieve_failure_at and address.sieve_failure_at >= since:
                    continue
                _set(address, kind="", reason="", at=None, restored=True)
                changed.append(address)
                continue
            at = datetime.fromtimestamp(hold.at, tz=UTC)
            kind = _KINDS[hold.kind]
            new = (address.sieve_failure, address.sieve_failure_at) != (kind, at)
            if not new and address.sieve_failure_reason == hold.reason:
                continue
            _set(address, kind=kind, reason=hold.reason, at=at, restored=hold.restored)
            changed.append(address)
            if new:
                audit.record(actor=None, action="other", obj=address, verb=_VERBS[hold.kind],
                             after={"reason": hold.reason, "previous_restored": hold.restored})
    return changed


def _set(address: Address, *, kind: str, reason: str, at, restored: bool) -> None:
    address.sieve_failure, address.sieve_failure_reason = kind, reason
    address.sieve_failure_at, address.sieve_failure_restored = at, restored
    address.save(update_fields=["sieve_failure", "sieve_failure_reason", "sieve_failure_at",
                                "sieve_failure_restored"])

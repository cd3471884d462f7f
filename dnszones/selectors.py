"""Reads of the DNS app: a domain through the gate, its records filtered, its zone file,
its SOA as shown, and the push status of zones."""
from dataclasses import dataclass

from django.conf import settings
from django.shortcuts import get_object_or_404

from manager.core import outbox
from manager.core.models import PushJob, SyncStatus

from .models import PUSH_KIND, Domain, Record, SecurityCheck
from .zone import zonefile


def domain_for(user, pk) -> Domain:
    """The domain through the gate: another organisation's domain is a 404."""
    return get_object_or_404(Domain.objects.restrict(user, "view").select_related("organisation"),
                             pk=pk)


def records_of(domain: Domain, *, type: str = "", name: str = ""):
    records = Record.objects.filter(domain=domain)
    if type:
        records = records.filter(type=type.upper())
    if name:
        records = records.filter(name__icontains=name.strip().lower())
    return records.order_by("name", "type", "value")


def nameservers() -> list[str]:
    return [server.lower().rstrip(".") + "." for server in settings.DNS_NAMESERVERS]


def zone_file(domain: Domain) -> str:
    return zonefile.render(domain.name, [r.data for r in domain.records.all()],
                           nameservers=nameservers(), serial=domain.serial,
                           email=settings.DNS_SOA_EMAIL, default_ttl=domain.default_ttl)


@dataclass(frozen=True)
class Soa:
    primary: str
    email: str
    serial: int
    refresh: int = zonefile.SOA_REFRESH
    retry: int = zonefile.SOA_RETRY
    expire: int = zonefile.SOA_EXPIRE
    minimum: int = zonefile.SOA_MINIMUM


def soa_of(domain: Domain) -> Soa:
    primary, email, *_ = zonefile.soa_value(domain.name, nameservers=nameservers(),
                                             serial=domain.serial,
                                             email=settings.DNS_SOA_EMAIL).split()
    return Soa(primary=primary, email=email, serial=domain.serial)


def sync_jobs(names) -> dict[str, PushJob]:
    return outbox.status_for(PUSH_KIND, names)


def sync_status(domain: Domain, job: PushJob | None) -> str:
    """applied / pending / failed. A domain served elsewhere that was never pushed has
    nothing to wait for: applied."""
    if job is None:
        return SyncStatus.PENDING if domain.uses_our_dns else SyncStatus.APPLIED
    return job.sync_status


def security_badges(domain_ids) -> dict:
    """The domain list's security badge per domain id: (worst severity, checked at), from
    the cached checks (a domain not checked yet has none)."""
    return {row["domain_id"]: row for row in SecurityCheck.objects.filter(
        domain_id__in=list(domain_ids)).values("domain_id", "worst", "checked_at")}

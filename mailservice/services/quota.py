"""Writes of the quota report: the space each address uses, as its backend host's Dovecot
counts it, stored on the address by that host's worker (doveadm is local to the host)."""
from __future__ import annotations

import logging

from django.utils import timezone

from ..backends.base import BackendError
from ..backends.quota import QuotaUsage, used_mb
from ..models import Address, MailService

log = logging.getLogger(__name__)


def record_quota_usage(*, service: MailService, usage: dict[str, QuotaUsage]) -> int:
    """Store the reported use on the service's addresses; how many were reported. An
    address the report lacks keeps its last figure and time (the time tells its age)."""
    now = timezone.now()
    addresses = list(Address.objects.filter(mail_service=service).select_related("mail_service"))
    changed = []
    for address in addresses:
        figures = usage.get(address.email.lower())
        if figures is None:
            continue
        address.quota_used_mb = used_mb(figures.used_kb)
        address.quota_used_at = now
        changed.append(address)
    Address.objects.bulk_update(changed, ["quota_used_mb", "quota_used_at"], batch_size=500)
    return len(changed)


def report_host_quota_usage(host: str) -> int:
    """On the worker of `host`: ask its Dovecot for the use of every mailbox of each of
    its services; how many addresses were updated. A service the host cannot report is
    logged and skipped: the next run tries it again."""
    from ..push import _hosts, backend_for

    if host not in _hosts():
        log.warning("quota report: no mail backend host named %r is configured", host)
        return 0
    backend = backend_for(host)
    total = 0
    for service in MailService.objects.filter(backend_host=host).order_by("domain"):
        try:
            usage = backend.quota_usage(service.domain)
        except BackendError as exc:
            log.warning("quota report of %s failed: %s", service.domain, exc)
            continue
        total += record_quota_usage(service=service, usage=usage)
    return total


def queue_quota_reports() -> int:
    """Ask each backend host's own worker (its queue) for its quota report."""
    from ..push import _hosts
    from ..tasks import report_quota_usage

    hosts = _hosts()
    for host in hosts:
        report_quota_usage.apply_async((host,), queue=f"mail-{host}")
    return len(hosts)

"""Pushing mail services to their backend hosts, through the core outbox."""
import json
import logging
from functools import cache

from django.conf import settings
from django.utils import timezone

from manager.audit import services as audit
from manager.core import outbox

from .backends.base import BackendError, drift
from .backends.dovecot_postfix import DovecotPostfixBackend, DovecotPostfixConfig
from .desired import desired_state
from .models import PUSH_KIND, MailService
from .services.sieve_status import record_sieve_holds

log = logging.getLogger(__name__)


@cache
def _hosts() -> dict[str, dict]:
    """Backend hosts from MAIL_BACKEND_CONFIG: a JSON file holding either one host (a
    local stack's stack.json) or {"hosts": {"<name>": {...}}}."""
    path = settings.MAIL_BACKEND_CONFIG
    if not path:
        return {}
    with open(path) as handle:
        data = json.load(handle)
    return data["hosts"] if "hosts" in data else {"default": data}


def forget_hosts():
    _hosts.cache_clear()


def backend_for(host: str) -> DovecotPostfixBackend:
    hosts = _hosts()
    if host not in hosts:
        raise outbox.PushError(
            f"No mail backend host named {host!r} is configured (MAIL_BACKEND_CONFIG).",
            permanent=True)
    return DovecotPostfixBackend(DovecotPostfixConfig.from_dict(hosts[host]),
                                 email_type_header=settings.MAIL_TYPE_HEADER)


def queue_for(domain: str) -> str:
    """Each backend host has its own queue: a slow host delays only its services."""
    host = MailService.objects.filter(domain=domain).values_list("backend_host", flat=True).first()
    return queue_of_host(host)


def queue_of_host(host: str | None) -> str:
    return f"mail-{host or 'default'}"


def push_mail_service(domain: str) -> None:
    service = MailService.objects.filter(domain=domain).first()
    try:
        if service is None:  # deleted: remove it wherever it may be
            for host in _hosts():
                backend_for(host).remove_service(domain)
            return
        backend = backend_for(service.backend_host)
        started = timezone.now()
        # apply() also ends the live sessions of devices whose password went away.
        report = backend.apply(desired_state(service))
    except BackendError as exc:
        raise outbox.PushError(str(exc), permanent=exc.permanent) from exc
    record_sieve_holds(report.sieve_holds, service=service, since=started)
    # This worker runs on the host: a look at its deliveries now costs a log read.
    check_deliveries(service.backend_host, backend)


def check_deliveries(host: str, backend: DovecotPostfixBackend | None = None) -> list:
    """On the worker of `host`: put the previous filters back for the addresses whose
    delivery a pushed script made fail, and record it on them."""
    try:
        holds = (backend or backend_for(host)).check_deliveries()
    except (BackendError, outbox.PushError) as exc:
        log.warning("could not check the deliveries of host %s: %s", host, exc)
        return []
    record_sieve_holds(holds)
    return holds


def queue_delivery_checks() -> int:
    """Ask each backend host's own worker (its queue) to check its deliveries: the logs
    and doveadm are local to the host."""
    from .tasks import check_sieve_deliveries

    for host in _hosts():
        check_sieve_deliveries.apply_async((host,), queue=f"mail-{host}")
    return len(_hosts())


def reconcile() -> dict[str, list[str]]:
    """Compare every service's backend state with the desired state; queue a push for
    those that drifted (a map edited by hand, a passdb row deleted) and log why."""
    found = {}
    for service in MailService.objects.select_related("organisation"):
        try:
            backend = backend_for(service.backend_host)
            differences = drift(desired_state(service), backend.actual(service.domain))
            if differences:
                # Pushes trust the record of what they last applied; let the repairing
                # push read the real scripts again.
                backend.forget_sieve(service.domain)
        except (BackendError, outbox.PushError) as exc:
            log.warning("reconcile of %s could not read the backend: %s", service.domain, exc)
            continue
        if differences:
            found[service.domain] = differences
            from django.db import transaction

            with transaction.atomic():
                audit.record(actor=None, action="other", obj=service, verb="reconcile.drift",
                             after={"differences": differences[:50]})
                outbox.enqueue(PUSH_KIND, service.domain, organisation_id=service.organisation_id)
    return found


def register():
    outbox.register(PUSH_KIND, push_mail_service, queue=queue_for)

"""Pushing zones to their DNS hosts, through the core outbox, and the periodic reconcile
that repairs what was changed on the server behind our back."""
import json
import logging
from functools import cache

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from manager.audit import services as audit
from manager.core import outbox
from manager.core.models import PushJob

from .backends.base import DnsBackend, DnsBackendError, ZoneDrifted
from .desired import desired_state
from .models import PUSH_KIND, Domain
from .zone.state import drift, state_from_json, state_to_json

log = logging.getLogger(__name__)

DEFAULT_BACKEND = "dnszones.backends.knot.KnotBackend"


@cache
def _hosts() -> dict[str, dict]:
    """DNS hosts from DNS_BACKEND_CONFIG: a JSON file holding either one host or
    {"hosts": {"<name>": {...}}}. A host may name its adapter class (`"backend"`), the
    Knot adapter by default."""
    path = settings.DNS_BACKEND_CONFIG
    if not path:
        return {}
    with open(path) as handle:
        data = json.load(handle)
    return data["hosts"] if "hosts" in data else {"default": data}


def forget_hosts():
    _hosts.cache_clear()


def backend_for(host: str) -> DnsBackend:
    """The one place that turns a DNS host's name into an adapter."""
    hosts = _hosts()
    if not hosts:
        raise outbox.PushError("No DNS server is configured (DNS_BACKEND_CONFIG).",
                               permanent=True)
    if host not in hosts:
        raise outbox.PushError(
            f"No DNS host named {host!r} is configured (DNS_BACKEND_CONFIG).", permanent=True)
    config = hosts[host]
    return import_string(config.get("backend", DEFAULT_BACKEND)).from_config(config)


def queue_for(name: str) -> str:
    """Each DNS host has its own queue: a slow server delays only its zones."""
    host = Domain.objects.filter(name=name).values_list("dns_host", flat=True).first()
    return f"dns-{host or 'default'}"


def _zone(name: str) -> str:
    return name.rstrip(".") + "."


def push_zone(name: str) -> None:
    """Make the DNS server serve the domain's zone as the database says: one update from
    what the last push left (its prerequisites detect an out-of-band edit, which is then
    replaced, audited). A deleted domain, or one served elsewhere, is removed."""
    domain = Domain.objects.filter(name=name).first()
    try:
        if domain is None or not domain.uses_our_dns:
            for host in _hosts():
                backend_for(host).remove_zone(_zone(name))
            if domain is not None:
                Domain.objects.filter(pk=domain.pk).update(applied_state=None)
            return
        backend = backend_for(domain.dns_host)
        state = desired_state(domain)
        expected = state_from_json(domain.applied_state)
        if expected is None:
            backend.ensure_zone(state)
        repaired = None
        try:
            backend.apply(state, expected=expected)
        except ZoneDrifted as exc:
            repaired = _repair(backend, state, backend.actual(state.zone)), str(exc)
    except DnsBackendError as exc:
        raise outbox.PushError(str(exc), permanent=exc.permanent) from exc
    with transaction.atomic():
        if repaired is not None:
            _audit_repair(domain, *repaired)
        Domain.objects.filter(pk=domain.pk).update(applied_state=state_to_json(state))


def _repair(backend, state, served) -> list[str]:
    """Replace whatever is served by the desired state; returns what differed."""
    differences = drift(state, served)
    if served is None:
        backend.ensure_zone(state)
    backend.apply(state, expected=None)
    return differences


def _audit_repair(domain, differences, reason):
    audit.record(actor=None, action="other", obj=domain, verb="dns_zone.drift_repaired",
                 after={"differences": differences[:50], "reason": reason[:500]})


def reconcile() -> dict[str, list[str]]:
    """Compare every served zone with the database and repair the drift (audited); queue the
    removal of zones we once pushed whose domain is gone or now served elsewhere."""
    found = {}
    domains = list(Domain.objects.filter(uses_our_dns=True).order_by("name"))
    ours = {domain.name for domain in domains}
    jobs = outbox.status_for(PUSH_KIND, ours)
    for domain in domains:
        job = jobs.get(domain.name)
        if job is not None and job.state in (PushJob.State.PENDING, PushJob.State.RUNNING):
            continue  # its push is on the way and will leave the zone as desired
        try:
            backend = backend_for(domain.dns_host)
            state = desired_state(domain)
            served = backend.actual(state.zone)
            if not drift(state, served):
                continue
            differences = _repair(backend, state, served)
        except (DnsBackendError, outbox.PushError) as exc:
            log.warning("reconcile of zone %s failed: %s", domain.name, exc)
            continue
        with transaction.atomic():
            _audit_repair(domain, differences, "reconcile")
            Domain.objects.filter(pk=domain.pk).update(applied_state=state_to_json(state))
        found[domain.name] = differences
    for host in _hosts():
        try:
            served_zones = {zone.rstrip(".") for zone in backend_for(host).zones()}
        except (DnsBackendError, outbox.PushError) as exc:
            log.warning("reconcile could not list the zones of DNS host %s: %s", host, exc)
            continue
        pushed = set(PushJob.objects.filter(kind=PUSH_KIND, target_id__in=served_zones - ours)
                     .values_list("target_id", flat=True))
        for name in sorted(pushed):
            found[name] = [f"zone {name}. is served but no longer ours to serve"]
            with transaction.atomic():
                outbox.enqueue(PUSH_KIND, name)
    return found


def register():
    outbox.register(PUSH_KIND, push_zone, queue=queue_for)


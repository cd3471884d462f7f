"""The DNS records a mail service installs on its domain (mail_records.py lists them).

They are Record rows marked `managed_by = "mail_service:<id>"`, in the zone we serve (and
pushed with it) or, for a domain served by an external DNS host, on its list of records
to create there (checked by the domain's check). The owner's records win: where the owner
has a record of the same kind (their own MX, SPF, DMARC, a CNAME at autoconfig…) ours is
not installed, and a managed record the owner edits becomes theirs (dnszones records.py).
Removing the service removes its managed records and nothing else.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from django.db import transaction

from dnszones.models import Domain, Record
from dnszones.services.common import message, zone_changed
from dnszones.zone.records import RecordData, RecordError, clean_record, conflict
from manager.audit import services as audit

from ..mail_records import DkimPublication, MailDnsSettings, MailRecord, mail_records, same_kind
from ..models import DkimKey, MailService

log = logging.getLogger(__name__)

INSTALLED = "installed"  # ours, in the zone (or on the list to create)
OWNER = "owner"  # the owner has this very record: nothing to add
KEPT = "kept"  # the owner has another record of this kind there: theirs is kept
MISSING = "missing"  # ours, not there (removed by the owner): "Install missing records"


def managed_tag(service: MailService) -> str:
    return f"mail_service:{service.pk}"


def desired_records(service: MailService) -> list[MailRecord]:
    keys = [DkimPublication(selector=k.selector, public_key=k.public_key)
            for k in DkimKey.objects.filter(mail_service=service).order_by("selector")
            if k.is_published]
    return mail_records(MailDnsSettings.from_django_settings(service.backend_host), keys)


@dataclass(frozen=True)
class PlannedRecord:
    """One record the service needs, as its domain has it now."""

    record: MailRecord
    data: RecordData | None  # as the zone would store it; None if our settings make it invalid
    status: str  # INSTALLED, OWNER, KEPT, MISSING
    row: Record | None = None  # our row (INSTALLED), or the owner's in its place
    reason: str = ""  # KEPT: why ours cannot sit beside theirs


def plan(service: MailService, domain: Domain, rows=None) -> list[PlannedRecord]:
    """Each record the service needs against the domain's records (`rows`: all of them)."""
    rows = list(rows if rows is not None else domain.records.all())
    tag = managed_tag(service)
    mine = {(r.name, r.type, r.value): r for r in rows if r.managed_by == tag}
    others = [r for r in rows if r.managed_by != tag]
    planned = []
    for record in desired_records(service):
        try:
            data = clean_record(domain.name, name=record.name, type=record.type,
                                ttl=domain.default_ttl, value=record.value)
        except RecordError as exc:
            log.error("mail record %s %s of %s is invalid (check the MAIL_* settings): %s",
                      record.name, record.type, domain.name, exc)
            planned.append(PlannedRecord(record, None, KEPT,
                                         reason=message(exc.template, exc.params)))
            continue
        own = mine.get((data.name, data.type, data.value))
        if own is not None:
            planned.append(PlannedRecord(record, data, INSTALLED, own))
            continue
        stored = replace(record, name=data.name, value=data.value)  # TXT quoted as stored
        theirs = [r for r in others if same_kind(stored, r.name, r.type, r.value)]
        if theirs:
            equal = next((r for r in theirs if r.value == data.value), None)
            planned.append(PlannedRecord(record, data, OWNER if equal else KEPT, equal or theirs[0]))
            continue
        problem = conflict(domain.name, [r.data for r in others], data)
        if problem is not None:
            blocker = next((r for r in others if r.name == data.name), None)
            planned.append(PlannedRecord(record, data, KEPT, blocker,
                                         reason=message(problem.template, problem.params)))
            continue
        planned.append(PlannedRecord(record, data, MISSING))
    return planned


def _line(data: RecordData) -> str:
    return f"{data.name} {data.ttl} {data.type} {data.value}"


@transaction.atomic
def mail_records_install(*, actor, service: MailService) -> list[str]:
    """Add the records the service needs that its domain lacks (skipping those the owner
    has their own of) and remove those it installed and no longer needs (a withdrawn DKIM
    selector); audited, the zone pushed when we serve it. The changes, as audit lines."""
    if service.domain_ref_id is None:
        return []
    domain = Domain.objects.select_for_update().get(pk=service.domain_ref_id)
    rows = list(domain.records.all())
    planned = plan(service, domain, rows)
    wanted = {p.row.pk for p in planned if p.status == INSTALLED}
    tag = managed_tag(service)
    stale = [r for r in rows if r.managed_by == tag and r.pk not in wanted]
    changes = [f"- {_line(r.data)}" for r in stale]
    Record.objects.filter(pk__in=[r.pk for r in stale]).delete()
    present = [r.data for r in rows if r.pk not in {s.pk for s in stale}]
    for item in planned:
        if item.status != MISSING:
            continue
        data = item.data
        if conflict(domain.name, present, data) is not None:  # beside one added just now
            continue
        # An RRset has one TTL (RFC 2181 §5.2): join an existing one at its TTL.
        sibling = next((r for r in present if r.name == data.name and r.type == data.type), None)
        ttl = sibling.ttl if sibling else data.ttl
        Record.objects.create(domain=domain, name=data.name, type=data.type, ttl=ttl,
                              value=data.value, managed_by=tag)
        present.append(RecordData(data.name, data.type, ttl, data.value))
        changes.append(f"+ {_line(RecordData(data.name, data.type, ttl, data.value))}")
    if changes:
        audit.record(actor=actor, action="other", obj=service, verb="mail_service.dns_records",
                     after={"domain": domain.name, "changes": changes})
        zone_changed(domain)
    return changes


@transaction.atomic
def mail_records_remove(*, actor, service: MailService) -> list[str]:
    """Remove every record the service installed; the owner's records stay."""
    if service.domain_ref_id is None:
        return []
    domain = Domain.objects.select_for_update().get(pk=service.domain_ref_id)
    mine = list(domain.records.filter(managed_by=managed_tag(service)))
    if not mine:
        return []
    changes = [f"- {_line(r.data)}" for r in mine]
    Record.objects.filter(pk__in=[r.pk for r in mine]).delete()
    audit.record(actor=actor, action="other", obj=service, verb="mail_service.dns_records",
                 after={"domain": domain.name, "changes": changes})
    zone_changed(domain)
    return changes

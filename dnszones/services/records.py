"""Writes on a zone's records. Each is checked alone (dnspython) and beside the zone's other
records (CNAME, SPF, duplicates); the TTL is the RRset's: records of one name and type
share it (RFC 2181 §5.2), so setting it on one sets it on its siblings."""
from django.db import transaction
from django.utils.translation import gettext as _

from manager.accounts.roles import ADD, CHANGE, DELETE
from manager.audit import services as audit
from manager.core.errors import ServiceError

from ..models import Domain, Record
from ..zone.records import RecordData, RecordError, clean_record, conflict
from ..zone.zonefile import MAX_RECORDS
from .common import RECORD_FIELDS, not_a_synonym, record_refused, require, zone_changed


def _checked(domain: Domain, *, name, type, ttl, value, exclude=None) -> RecordData:
    try:
        data = clean_record(domain.name, name=name, type=type, ttl=ttl, value=value)
    except RecordError as exc:
        raise record_refused(exc) from exc
    others = [r.data for r in domain.records.filter(name=data.name).exclude(pk=exclude)]
    problem = conflict(domain.name, others, data)
    if problem is not None:
        raise record_refused(problem)
    return data


def _share_ttl(domain: Domain, data: RecordData, record: Record) -> None:
    Record.objects.filter(domain=domain, name=data.name, type=data.type).exclude(
        pk=record.pk).update(ttl=data.ttl)


def _locked(domain: Domain) -> Domain:
    # One zone's edits in turn: the checks beside the other records must see them all.
    domain = Domain.objects.select_for_update().get(pk=domain.pk)
    not_a_synonym(domain)
    return domain


@transaction.atomic
def record_create(*, actor, domain: Domain, type: str, value: str, name: str = "@",
                  ttl: int | None = None) -> Record:
    require(actor, ADD, domain.organisation_id)
    domain = _locked(domain)
    if domain.records.count() >= MAX_RECORDS:
        raise ServiceError(_("A zone holds at most %(max)d records.") % {"max": MAX_RECORDS},
                           code="limit_reached")
    data = _checked(domain, name=name, type=type, value=value,
                    ttl=domain.default_ttl if ttl is None else ttl)
    record = Record.objects.create(domain=domain, name=data.name, type=data.type, ttl=data.ttl,
                                   value=data.value)
    _share_ttl(domain, data, record)
    audit.record(actor=actor, action="create", obj=record,
                 after=audit.snapshot(record, RECORD_FIELDS))
    zone_changed(domain)
    return record


@transaction.atomic
def record_update(*, actor, record: Record, **changes) -> Record:
    unknown = set(changes) - set(RECORD_FIELDS)
    if unknown:
        raise ServiceError(_("These fields cannot be changed: %(f)s") % {"f": ", ".join(sorted(unknown))},
                           code="read_only", fields={f: [_("Read-only.")] for f in unknown})
    require(actor, CHANGE, record.domain.organisation_id)
    domain = _locked(record.domain)
    before = audit.snapshot(record, RECORD_FIELDS)
    merged = {**before, **{k: v for k, v in changes.items() if v is not None}}
    data = _checked(domain, name=merged["name"], type=merged["type"], ttl=merged["ttl"],
                    value=merged["value"], exclude=record.pk)
    record.name, record.type, record.ttl, record.value = data.name, data.type, data.ttl, data.value
    after = audit.snapshot(record, RECORD_FIELDS)
    if before != after:
        # A record a mail service installed becomes the owner's once they change it: the
        # service will not remove or overwrite their choice.
        record.managed_by = ""
        record.save()
        _share_ttl(domain, data, record)
        audit.record(actor=actor, action="update", obj=record, before=before, after=after)
        zone_changed(domain)
    return record


@transaction.atomic
def record_delete(*, actor, record: Record) -> None:
    require(actor, DELETE, record.domain.organisation_id)
    domain = _locked(record.domain)
    audit.record(actor=actor, action="delete", obj=record,
                 before=audit.snapshot(record, RECORD_FIELDS))
    record.delete()
    zone_changed(domain)


def records_rewrite_as_system(domain: Domain, records: list[Record], value: str) -> None:
    """A write with no user (the SPF re-flattening): the first of `records` takes `value`,
    the others go, with the record checks and audit of a person's edit and no role check.
    The caller holds the zone's lock."""
    for record in records[1:]:
        audit.record(actor=None, action="delete", obj=record,
                     before=audit.snapshot(record, RECORD_FIELDS))
        record.delete()
    if not records:
        raise ServiceError(_("The zone has no SPF record to update."), code="no_spf_record")
    record = records[0]
    before = audit.snapshot(record, RECORD_FIELDS)
    data = _checked(domain, name=record.name, type=record.type, ttl=record.ttl, value=value,
                    exclude=record.pk)
    record.value = data.value
    record.save(update_fields=["value", "updated"])
    _share_ttl(domain, data, record)
    audit.record(actor=None, action="update", obj=record, before=before,
                 after=audit.snapshot(record, RECORD_FIELDS))
    zone_changed(domain)

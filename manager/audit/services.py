"""Writing audit entries; services call `record()` inside their own transaction."""
import datetime
import decimal
import uuid

from django.db import models

from manager.core.context import get_request_id
from manager.core.permissions import organisation_id_of

from .models import AuditEntry


def _plain(value):
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, datetime.datetime | datetime.date | decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def snapshot(obj, fields) -> dict:
    """The audited fields of an object as JSON-able values (foreign keys by id)."""
    data = {}
    for name in fields:
        field = obj._meta.get_field(name)
        data[name] = _plain(getattr(obj, field.attname))
    return data


def diff(before: dict | None, after: dict | None) -> dict:
    before, after = before or {}, after or {}
    keys = list(dict.fromkeys([*before, *after]))
    return {k: [before.get(k), after.get(k)] for k in keys if before.get(k) != after.get(k)}


def record(**change) -> AuditEntry:
    """Record one change. `before`/`after` are snapshots; only changed fields are kept.
    The organisation defaults to the object's own, found along its model's
    `organisation_field`."""
    entry_ = entry(**change)
    entry_.save(force_insert=True)
    return entry_


def record_many(entries: list[AuditEntry], *, batch_size: int = 1000) -> None:
    """Record many changes (built with `entry`) in as few INSERTs as possible: a bulk
    write audits each object it creates without a statement per object."""
    AuditEntry.objects.bulk_create(entries, batch_size=batch_size)


def entry(*, actor, action, obj=None, organisation=None, before=None, after=None, verb="",
          object_type=None, object_id=None, object_repr=None) -> AuditEntry:
    """The entry `record` saves, unsaved (for `record_many`)."""
    if organisation is not None:
        organisation_id = getattr(organisation, "pk", organisation)
    elif obj is not None:
        organisation_id = organisation_id_of(obj)
    else:
        organisation_id = None
    actor_user = actor if getattr(actor, "is_authenticated", False) else None
    if object_repr is None:
        object_repr = str(obj) if obj is not None else ""
    if object_id is None:
        object_id = getattr(obj, "pk", "") if obj is not None else ""
    return AuditEntry(
        organisation_id=organisation_id,
        actor=actor_user,
        actor_label=str(actor_user) if actor_user else (str(actor) if actor else "system"),
        request_id=get_request_id(),
        action=action,
        verb=verb,
        object_type=object_type or (obj._meta.label_lower if obj is not None else ""),
        object_id=str(object_id),
        object_repr=object_repr[:200],
        changes=diff(before, after) if (before is not None or after is not None) else {},
    )

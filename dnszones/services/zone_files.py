"""Importing a zone file: the file is the zone's whole content (but the SOA and the apex NS,
which are the platform's). A dry run tells what would change and saves nothing."""
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from manager.accounts.roles import CHANGE
from manager.audit import services as audit
from manager.core.errors import ServiceError

from ..models import Domain, Record
from ..zone import zonefile
from ..zone.changes import ZoneChanges, import_changes
from .common import message, not_a_synonym, require, zone_changed

ZONE_FILE_MAX_CHARS = 2 * 1024 * 1024


@dataclass(frozen=True)
class ZoneImport:
    changes: ZoneChanges
    ignored: list[str] = field(default_factory=list)  # lines the platform keeps for itself
    applied: bool = False


def line_message(item) -> str:
    return _("Line %(line)d: %(message)s") % {"line": item.line,
                                               "message": message(item.template, item.params)}


@transaction.atomic
def zone_import(*, actor, domain: Domain, text: str, dry_run: bool = False) -> ZoneImport:
    require(actor, CHANGE, domain.organisation_id)
    domain = Domain.objects.select_for_update().get(pk=domain.pk)
    not_a_synonym(domain)
    if len(text or "") > ZONE_FILE_MAX_CHARS:
        raise ServiceError(_("The zone file is larger than the limit."), code="too_large",
                           fields={"zone_file": [_("Too large.")]})
    parsed = zonefile.parse(text or "", domain.name, default_ttl=domain.default_ttl)
    if parsed.errors:
        lines = [line_message(error) for error in parsed.errors]
        raise ServiceError(ngettext("The zone file has %(count)d error; nothing was imported.",
                                    "The zone file has %(count)d errors; nothing was imported.",
                                    len(lines)) % {"count": len(lines)} + " " + " ".join(lines[:5]),
                           code="invalid_zone_file", fields={"zone_file": lines})
    current = {r.data: r for r in domain.records.all()}
    changes = import_changes(list(current), parsed.record_list)
    ignored = [line_message(item) for item in parsed.ignored]
    if dry_run or changes.empty:
        return ZoneImport(changes=changes, ignored=ignored, applied=False)
    by_key = {(d.name, d.type, d.value): r for d, r in current.items()}
    Record.objects.filter(pk__in=[by_key[(r.name, r.type, r.value)].pk for r in changes.removed]).delete()
    for before, after in changes.changed:
        Record.objects.filter(pk=by_key[(before.name, before.type, before.value)].pk).update(ttl=after.ttl)
    Record.objects.bulk_create([Record(domain=domain, name=r.name, type=r.type, ttl=r.ttl,
                                       value=r.value) for r in changes.added])
    audit.record(actor=actor, action="update", obj=domain, verb="dns_zone.import",
                 after={"added": len(changes.added), "removed": len(changes.removed),
                        "changed": len(changes.changed)})
    zone_changed(domain)
    return ZoneImport(changes=changes, ignored=ignored, applied=True)

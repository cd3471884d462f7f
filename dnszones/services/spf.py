"""The SPF doctor on the Django side: the report of a domain's published record (looked up
through the product's one resolver, DNS_RESOLVER), and the changes to the zone's apex SPF
record — the qualifier switch, the merge of providers' records, flattening on and off —
each previewed (`dry_run`: the zone change before → after, and the lookup counts) before
it is applied through the record service. A flattened domain keeps the record with its
includes as the source of truth (SpfFlattening); qualifier switches and merges change the
source, and the published record is derived from it again."""
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from manager.accounts.roles import CHANGE
from manager.audit import services as audit
from manager.core.errors import Conflict, ServiceError

from .. import resolver
from .. import spf as core
from ..models import Domain, Record, SpfFlattening
from ..spf.flatten import NotFlattenable
from ..spf.terms import LOOKUP_LIMIT, gettext_noop
from ..zone.records import is_spf, txt_text
from .common import require
from .records import record_create, record_delete, record_update, records_rewrite_as_system

ACTIONS = ("qualifier", "merge", "flatten")


def message(template: str, params: dict | None = None) -> str:
    """A message of the SPF core in the request's language."""
    return core.render_message(template, params or {}, gettext)


def dns_lookup():
    """The core's lookup function, through dnszones.resolver; each answer is asked once
    per call of this function (a preview analyses the record before and after)."""
    answers = {}

    def lookup(name: str, rtype: str):
        key = (name.lower().rstrip("."), rtype)
        if key not in answers:
            try:
                answer = resolver.lookup(key[0], rtype)
            except resolver.LookupFailed as exc:
                raise core.DnsFailure(str(exc)) from exc
            values = answer.values
            if rtype in ("TXT", "SPF"):  # the strings of each record joined, as SPF reads them
                values = tuple(txt_text(value) for value in values)
            answers[key] = values
        return answers[key]

    return lookup


def spf_report(domain: Domain, lookup=None) -> core.Report:
    """The SPF record published at the domain's name, as the world sees it."""
    return core.analyse(domain.name, lookup or dns_lookup())


def report_data(report: core.Report) -> dict:
    return core.report_data(report, message)


# --- the zone's SPF record ---------------------------------------------------------------

def zone_spf_records(domain: Domain) -> list[Record]:
    return [r for r in domain.records.filter(name="@", type="TXT").order_by("pk")
            if is_spf(r.type, r.value)]


@dataclass
class SpfChange:
    """What an SPF action changes (or changed, `applied`) in the zone."""

    action: str
    before: str | None  # the zone's apex SPF record now (the first, if there are several)
    after: str  # the record the zone will publish
    lookups_before: int
    lookups_after: int
    changes: list[dict] = field(default_factory=list)  # operation, name, type, before, after
    warnings: list[dict] = field(default_factory=list)  # code, message
    source: str | None = None  # flattened: the record with the includes
    flattened: bool = False
    inlined: list[str] = field(default_factory=list)  # flattened: the includes replaced
    lookups_source: int = 0  # flattened: the lookups of the source
    applied: bool = False
    expected: tuple[tuple[int, str], ...] = ()  # (pk, value) the plan was made on


def _refused(code: str, template: str, params=None, field_name: str | None = None):
    text = message(template, params)
    return ServiceError(text, code=code, fields={field_name: [text]} if field_name else {})


def _edit_refused(error: core.EditRefused, field_name: str) -> ServiceError:
    return _refused(error.code, error.template, error.params, field_name)


def _flattening(domain: Domain) -> SpfFlattening | None:
    return SpfFlattening.objects.filter(domain=domain).first()


def _current(domain: Domain, records: list[Record]) -> str:
    """The one SPF record of the zone an edit starts from."""
    if not records:
        raise _refused("no_spf_record", gettext_noop(
            "The zone of %(domain)s has no SPF record yet: add one (v=spf1 … -all) or merge "
            "your providers' records."), {"domain": domain.name})
    if len(records) > 1:
        raise _refused("several_records", gettext_noop(
            "The zone of %(domain)s has %(count)d SPF records: several SPF records cause "
            "errors. Merge them into one first."), {"domain": domain.name, "count": len(records)})
    return records[0].shown_value


def _warnings(items) -> list[dict]:
    return [{"code": code, "message": message(template, params)} for code, template, params in items]


def _plan(domain: Domain, action: str, after: str, lookup, *, warnings=(), source=None,
          flattened: core.Flattened | None = None, records=None) -> SpfChange:
    records = zone_spf_records(domain) if records is None else records
    before = records[0].shown_value if records else None
    changes = [{"operation": "delete", "name": "@", "type": "TXT", "before": r.shown_value,
                "after": None} for r in records[1:]]
    if before != after or not records:
        changes.append({"operation": "update" if records else "create", "name": "@",
                        "type": "TXT", "before": before, "after": after})
    lookups_before = core.analyse(domain.name, lookup, record=before).lookups if before else 0
    return SpfChange(action=action, before=before, after=after, lookups_before=lookups_before,
                     lookups_after=core.analyse(domain.name, lookup, record=after).lookups,
                     changes=changes, warnings=list(warnings), source=source,
                     flattened=flattened is not None,
                     inlined=list(flattened.inlined) if flattened else [],
                     lookups_source=flattened.lookups_before if flattened else 0,
                     expected=tuple((r.pk, r.value) for r in records))


def _flatten(domain: Domain, source: str, lookup) -> core.Flattened:
    try:
        return core.flatten(domain.name, source, lookup)
    except NotFlattenable as exc:
        raise _refused("not_flattenable", gettext_noop(
            "The SPF record cannot be flattened: %(reason)s."), {"reason": str(exc)}) from exc


def _derived(domain: Domain, action: str, source: str, lookup, warnings=()) -> SpfChange:
    """A flattened domain's new source: the record to publish is derived from it."""
    result = _flatten(domain, source, lookup)
    return _plan(domain, action, result.text, lookup, source=source, flattened=result,
                 warnings=[*warnings, *_warnings(result.warnings)])


# --- the actions -------------------------------------------------------------------------

def spf_set_qualifier(*, actor, domain: Domain, qualifier: str, dry_run: bool = False) -> SpfChange:
    """Strict -all, soft ~all or neutral ?all (`qualifier` is "-", "~" or "?", or written
    with its "all")."""
    require(actor, CHANGE, domain.organisation_id)
    qualifier = (qualifier or "").strip().removesuffix("all")
    lookup, flattening = dns_lookup(), _flattening(domain)
    source = flattening.source if flattening else _current(domain, zone_spf_records(domain))
    try:
        new_source = core.with_qualifier(source, qualifier)
    except core.EditRefused as exc:
        raise _edit_refused(exc, "qualifier") from exc
    if flattening:
        change = _derived(domain, "qualifier", new_source, lookup)
    else:
        change = _plan(domain, "qualifier", new_source, lookup)
    return change if dry_run else _apply(actor, domain, change)


def spf_merge(*, actor, domain: Domain, records: list[str], dry_run: bool = False) -> SpfChange:
    """The zone's SPF record(s) and `records` (other providers' SPF records) as one."""
    require(actor, CHANGE, domain.organisation_id)
    records = [str(r) for r in (records or []) if str(r).strip()]
    lookup, flattening, zone_records = dns_lookup(), _flattening(domain), zone_spf_records(domain)
    inputs = [flattening.source] if flattening else [r.shown_value for r in zone_records]
    try:
        merged = core.merge([*inputs, *records])
    except core.EditRefused as exc:
        raise _edit_refused(exc, "records") from exc
    if flattening:
        change = _derived(domain, "merge", merged.text, lookup, _warnings(merged.warnings))
    else:
        change = _plan(domain, "merge", merged.text, lookup, warnings=_warnings(merged.warnings),
                       records=zone_records)
    return change if dry_run else _apply(actor, domain, change)


def spf_flatten(*, actor, domain: Domain, enabled: bool = True, dry_run: bool = False) -> SpfChange:
    """Flattening on: the includes that cost the most are replaced by their addresses until
    the record is within 10 lookups (refused when it already is). Off: the record with the
    includes is published again. On an already flattened domain: derived again now."""
    require(actor, CHANGE, domain.organisation_id)
    lookup, flattening = dns_lookup(), _flattening(domain)
    if not enabled:
        if flattening is None:
            raise _refused("not_flattened", gettext_noop(
                "The SPF record of %(domain)s is not flattened."), {"domain": domain.name},
                "enabled")
        change = _plan(domain, "flatten", flattening.source, lookup)
        return change if dry_run else _apply(actor, domain, change, stop_flattening=True)
    if flattening is not None:
        change = _derived(domain, "flatten", flattening.source, lookup)
        return change if dry_run else _apply(actor, domain, change)
    source = _current(domain, zone_spf_records(domain))
    result = _flatten(domain, source, lookup)
    if result.lookups_before <= LOOKUP_LIMIT:
        raise _refused("within_limit", gettext_noop(
            "The SPF record needs %(count)d DNS lookups, within the limit of 10: it does not "
            "need flattening."), {"count": result.lookups_before}, "enabled")
    if not result.changed:
        raise _refused("not_flattenable", gettext_noop(
            "None of the includes can be replaced by addresses: they depend on each message "
            "or have errors."), {}, "enabled")
    change = _plan(domain, "flatten", result.text, lookup, source=source, flattened=result,
                   warnings=_warnings(result.warnings))
    return change if dry_run else _apply(actor, domain, change)


@transaction.atomic
def _apply(actor, domain: Domain, change: SpfChange, *, stop_flattening: bool = False) -> SpfChange:
    domain = Domain.objects.select_for_update().get(pk=domain.pk)
    records = zone_spf_records(domain)
    if tuple((r.pk, r.value) for r in records) != change.expected:
        raise Conflict(gettext("The zone's SPF record changed meanwhile: look at the preview "
                               "again."), code="spf_changed")
    before = _flattening(domain)
    if actor is None:
        records_rewrite_as_system(domain, records, change.after)
    else:
        for record in records[1:]:
            record_delete(actor=actor, record=record)
        if records:
            record_update(actor=actor, record=records[0], value=change.after)
        else:
            record_create(actor=actor, domain=domain, name="@", type="TXT", value=change.after)
    now = timezone.now()
    if stop_flattening or not change.flattened:
        if before is not None:
            before.delete()
    else:
        SpfFlattening.objects.update_or_create(domain=domain, defaults={
            "source": change.source, "flattened": change.after, "inlined": change.inlined,
            "lookups_source": change.lookups_source, "lookups_flattened": change.lookups_after,
            "flattened_at": now, "checked_at": now})
    verb = f"spf.{change.action}" + ("_off" if stop_flattening else "")
    audit.record(actor=actor, action="update", obj=domain, verb=verb,
                 before={"spf": change.before, "lookups": change.lookups_before},
                 after={"spf": change.after, "lookups": change.lookups_after,
                        **({"source": change.source} if change.flattened else {})})
    change.applied = True
    return change


# --- the periodic re-flattening ----------------------------------------------------------

def spf_reflatten(*, flattening: SpfFlattening) -> str:
    """Derive the flattened record again from its source: "changed" (a provider's
    addresses changed: published, audited), "unchanged", "skipped" (a lookup failed: the
    published record stays until the next run), or "stopped" (the record was edited by
    hand: the edit wins, flattening stops)."""
    domain = flattening.domain
    lookup = dns_lookup()
    report = core.analyse(domain.name, lookup, record=flattening.source)
    if any(f.code == "lookup_failed" for f in report.errors):
        return "skipped"
    try:
        result = core.flatten(domain.name, flattening.source, lookup)
    except NotFlattenable:
        return "skipped"
    with transaction.atomic():
        locked = Domain.objects.select_for_update().get(pk=domain.pk)
        flattening = SpfFlattening.objects.filter(pk=flattening.pk).first()
        if flattening is None:
            return "stopped"
        records = zone_spf_records(locked)
        published = records[0].shown_value if records else None
        if published != flattening.flattened:
            audit.record(actor=None, action="other", obj=locked, verb="spf.flatten_stopped",
                         before={"spf": flattening.flattened}, after={"spf": published})
            flattening.delete()
            return "stopped"
        flattening.checked_at = timezone.now()
        if result.text == flattening.flattened:
            flattening.save(update_fields=["checked_at"])
            return "unchanged"
        records_rewrite_as_system(locked, records, result.text)
        audit.record(actor=None, action="update", obj=locked, verb="spf.reflattened",
                     before={"spf": flattening.flattened},
                     after={"spf": result.text, "lookups": result.lookups_after})
        flattening.flattened, flattening.flattened_at = result.text, flattening.checked_at
        flattening.lookups_source, flattening.lookups_flattened = report.lookups, result.lookups_after
        flattening.inlined = list(result.inlined)
        flattening.save()
        return "changed"


def reflatten_all() -> dict[str, str]:
    return {f.domain.name: spf_reflatten(flattening=f)
            for f in SpfFlattening.objects.select_related("domain").order_by("pk")}

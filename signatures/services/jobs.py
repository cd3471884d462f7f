"""Bulk work on signatures, run by a worker in batches: activate a template on addresses,
create signatures for the users of addresses (and tell them), regenerate the signatures
made from an older version. Each batch costs a constant number of queries (bulk reads,
`bulk_create`, `bulk_update`, one audit entry), so 10,000 addresses take seconds.

A job is a core Job of a JobKind: `params` holds the mail service and template ids, the
address ids to work through and whether to e-mail the users; `result` counts the
signatures made or renewed."""
import logging
from collections import defaultdict

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mailservice.models import Address, AddressAccess
from mailservice.services.common import push
from manager.audit import services as audit
from manager.core.context import get_request_id
from manager.core.errors import Conflict, ServiceError
from manager.core.models import Job

from .. import limits, render
from ..models import AddressSignatureSettings, JobKind, Signature, SignatureTemplate
from .common import image_refs, load_images, profile_of, render_into, require_manager
from .signatures import notify_users

log = logging.getLogger(__name__)
RENDERED_FIELDS = ["version", "html", "text", "warnings", "state", "updated"]


@transaction.atomic
def job_start(*, actor, template: SignatureTemplate, kind: str, addresses=None) -> Job:
    """Queue the job (sent to the worker after commit). `kind`: the operation (`activate`,
    `create_signatures`, `regenerate`) or its JobKind. `addresses`: the selection (all of
    the service's when None); for `regenerate`, those with outdated signatures."""
    service = template.mail_service
    require_manager(actor, service)
    template = SignatureTemplate.objects.select_for_update().get(pk=template.pk)
    kind = JobKind(kind) if kind in JobKind.values else JobKind.of_operation(kind)
    if kind is None:
        raise ServiceError(_("Unknown operation."), code="invalid")
    if not template.is_published:
        raise Conflict(_("Publish the template first: signatures are made from a published "
                         "version."), code="template_not_published")
    if template.hidden and kind != JobKind.REGENERATE:
        raise Conflict(_("This template is hidden: it is no longer offered."),
                       code="template_hidden")
    if kind == JobKind.REGENERATE:
        ids = list(Signature.objects.filter(template=template).exclude(
            version_id=template.current_version_id).order_by("address_id")
            .values_list("address_id", flat=True).distinct())
    elif addresses is None:
        ids = list(Address.objects.filter(mail_service=service).order_by("local_part")
                   .values_list("pk", flat=True))
    else:
        ids = list(dict.fromkeys(a.pk for a in addresses))
        if any(a.mail_service_id != service.pk for a in addresses):
            raise ServiceError(_("Every address must belong to the template's mail service."),
                               code="invalid", fields={"addresses": [
                                   _("Not an address of this service.")]})
        if not ids:
            raise ServiceError(_("Select at least one address."), code="invalid",
                               fields={"addresses": [_("Select at least one address.")]})
    if len(ids) > limits.ACTIVATION_ADDRESSES_MAX:
        raise ServiceError(_("At most %(n)d addresses at once.") % {
            "n": limits.ACTIVATION_ADDRESSES_MAX}, code="limit_reached",
            fields={"addresses": [_("Too many.")]})
    job = Job.objects.create(
        kind=kind, organisation_id=service.organisation_id, total=len(ids),
        params={"mail_service": service.pk, "template": template.pk, "address_ids": ids,
                "notify": kind == JobKind.CREATE},
        result={"signatures": 0}, request_id=get_request_id(),
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        state=Job.State.QUEUED if ids else Job.State.DONE, progress=0 if ids else 100,
        finished=None if ids else timezone.now())
    audit.record(actor=actor, action="other", verb=f"signature_job.{kind.operation}", obj=template,
                 after={"job": job.pk, "addresses": len(ids)})
    if ids:
        from ..tasks import run_signature_job

        transaction.on_commit(lambda: run_signature_job.delay(job.pk))
    return job


def _signature_jobs():
    """The core Jobs this app runs; a task never touches another app's job."""
    return Job.objects.filter(kind__in=JobKind.values)


def job_claim(job_id: int) -> bool:
    """Queued → running, by a conditional update: a second delivery of the task finds
    nothing to claim and does nothing."""
    return _signature_jobs().filter(pk=job_id, state=Job.State.QUEUED).update(
        state=Job.State.RUNNING, started=timezone.now()) == 1


def job_run(job_id: int) -> Job | None:
    """The worker's whole run: claim, then batches until done; a failure is recorded on
    the job (its state and errors), not lost in a log."""
    if not job_claim(job_id):
        return None
    try:
        while job_step(job_id):
            pass
    except Exception as exc:
        log.exception("signature job %s failed", job_id)
        _fail(job_id, str(exc)[:500])
    return _signature_jobs().get(pk=job_id)


def _fail(job_id: int, message: str) -> None:
    _signature_jobs().filter(pk=job_id).update(state=Job.State.FAILED, finished=timezone.now(),
                                              errors=[{"address": None, "message": message}])


@transaction.atomic
def job_step(job_id: int) -> bool:
    """One batch of the running job; True while batches remain."""
    job = _signature_jobs().select_for_update().get(pk=job_id)
    if job.state != Job.State.RUNNING:
        return False
    kind, params = JobKind(job.kind), job.params
    ids = params["address_ids"][job.processed:job.processed + limits.BULK_BATCH_SIZE]
    template = (SignatureTemplate.objects.select_related("current_version", "mail_service__organisation")
                .filter(pk=params["template"]).first())
    if template is None:
        # Deleted while the job ran (its signatures went with it): nothing left to do.
        _fail(job_id, _("The template was deleted; nothing more was done."))
        return False
    version, service = template.current_version, template.mail_service
    design = render.design_from_dict(version.design)
    organisation_name = service.organisation.name

    addresses = {}
    for address in Address.objects.filter(pk__in=ids, mail_service=service):
        address.mail_service = service  # `email` without a query per row
        addresses[address.pk] = address
    users = defaultdict(list)
    for access in (AddressAccess.objects.filter(address_id__in=ids).select_related("user")
                   .order_by("address_id", "user_id")):
        users[access.address_id].append(access.user)
    existing = {(s.address_id, s.user_id): s
                for s in Signature.objects.filter(template=template, address_id__in=ids)}
    loaded = load_images(service.organisation_id,
                         image_refs(design, [s.values or {} for s in existing.values()]))

    created, renewed, errors = [], [], []
    fresh = defaultdict(list)
    now = timezone.now()
    for address_id in ids:
        address = addresses.get(address_id)
        if address is None:
            errors.append({"address": address_id, "message": _("No longer an address of this service.")})
            continue
        people = users[address_id]
        # A shared address (no single user) also gets its generic signature.
        for user in [*people, *([None] if len(people) != 1 else [])]:
            signature = existing.get((address_id, user.pk if user else None))
            if signature is None:
                if kind == JobKind.REGENERATE:
                    continue
                signature = Signature(address=address, user=user, template=template,
                                      version=version, values={})
                render_into(signature, design, profile_of(user, address, organisation_name), loaded)
                created.append(signature)
                if user is not None:
                    fresh[user].append(signature)
            elif signature.version_id != version.pk:
                signature.address, signature.user = address, user
                signature.version, signature.updated = version, now
                render_into(signature, design, profile_of(user, address, organisation_name), loaded)
                renewed.append(signature)
    Signature.objects.bulk_create(created, batch_size=limits.BULK_BATCH_SIZE)
    Signature.objects.bulk_update(renewed, RENDERED_FIELDS, batch_size=limits.BULK_BATCH_SIZE)

    before = {}
    if kind == JobKind.ACTIVATE:
        before = _activate(template, [a for a in ids if a in addresses])
    audit.record(actor=job.actor, action="other", verb=f"signature_job.{kind.operation}",
                 obj=template, before={"previous_templates": before} if before else None,
                 after={"job": job.pk, "version": version.number,
                        "addresses": [a for a in ids if a in addresses],
                        "signatures_created": len(created), "signatures_renewed": len(renewed)})
    if _stamps_changed(kind, template, ids, created, renewed):
        # The submission service stamps from the pushed state: the new signatures reach
        # the milter's data file with the service's next push.
        push(service)
    if params.get("notify") and fresh:
        transaction.on_commit(lambda: notify_users(dict(fresh)))
        Signature.objects.filter(pk__in=[s.pk for group in fresh.values() for s in group]
                                 ).update(notified_at=now)
    job.processed += len(ids)
    job.result = {**job.result, "signatures": job.result.get("signatures", 0)
                  + len(created) + len(renewed)}
    job.errors = [*job.errors, *errors][:100]
    job.progress = job.processed * 100 // job.total if job.total else 0
    if job.processed >= job.total:
        job.state, job.finished, job.progress = Job.State.DONE, timezone.now(), 100
    job.save(update_fields=["processed", "progress", "result", "errors", "state", "finished"])
    return job.state == Job.State.RUNNING


def _stamps_changed(kind, template, ids, created, renewed) -> bool:
    """Whether the batch changed what the addresses stamp: an activation does; new or
    renewed signatures do where the template is the one active on their address."""
    if kind == JobKind.ACTIVATE:
        return True
    touched = {s.address_id for s in [*created, *renewed]}
    return bool(touched) and AddressSignatureSettings.objects.filter(
        address_id__in=touched & set(ids), template=template).exists()


def _activate(template, address_ids) -> dict:
    """The template becomes the active one of each address (created settings keep
    stamping on, on new messages only). Returns {address id: previous template id}."""
    rows = {s.address_id: s for s in AddressSignatureSettings.objects.filter(address_id__in=address_ids)}
    before = {str(a): rows[a].template_id if a in rows else None for a in address_ids}
    changed = [row for row in rows.values() if row.template_id != template.pk]
    now = timezone.now()
    for row in changed:
        row.template_id, row.updated = template.pk, now
    AddressSignatureSettings.objects.bulk_update(changed, ["template", "updated"],
                                                 batch_size=limits.BULK_BATCH_SIZE)
    AddressSignatureSettings.objects.bulk_create(
        [AddressSignatureSettings(address_id=a, template=template) for a in address_ids
         if a not in rows], batch_size=limits.BULK_BATCH_SIZE)
    return {a: t for a, t in before.items() if t != template.pk}

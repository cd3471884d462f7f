"""Reads of the signatures app: templates and signatures through the gate, a preview as a
real user, the data-quality report, and the desired stamping state the milter will read."""
from collections import defaultdict
from dataclasses import dataclass

from django.shortcuts import get_object_or_404
from django.utils import translation

from mailservice.models import Address, AddressAccess, MailService
from mailservice.permissions import manages
from manager.core.models import Job

from . import render, stamping
from .models import AddressSignatureSettings, JobKind, Signature, SignatureTemplate
from .services.common import image_refs, load_images, profile_of, render_into
from .words import warning_message


def template_for(user, pk, service_pk=None) -> SignatureTemplate:
    """The template through the gate (its organisation's managers see it; a 404 for
    everyone else)."""
    queryset = SignatureTemplate.objects.restrict(user, "view").select_related(
        "mail_service__organisation", "current_version")
    if service_pk is not None:
        queryset = queryset.filter(mail_service_id=service_pk)
    return get_object_or_404(queryset, pk=pk)


def templates_of(service, *, include_hidden=True):
    queryset = (SignatureTemplate.objects.filter(mail_service=service)
                .select_related("current_version").order_by("name", "pk"))
    return queryset if include_hidden else queryset.filter(hidden=False)


def jobs_for(user):
    """The signature jobs `user` may follow: those of the organisations whose objects they
    see (its managers), never another app's job."""
    return Job.objects.restrict(user, "view").filter(kind__in=JobKind.values)


def job_for(user, pk) -> Job:
    return get_object_or_404(jobs_for(user), pk=pk)


def job_template(job) -> SignatureTemplate | None:
    """The template the job works with, None once deleted."""
    return SignatureTemplate.objects.filter(pk=job.params.get("template")).first()


def _shown_on_address(user, address):
    """The signatures of the address's page: its managers every signature (the generic
    one included), a user of the address their own."""
    queryset = Signature.objects.filter(address=address)
    return queryset if manages(user, address) else queryset.filter(user=user)


def signatures_of_address(user, address):
    """What the person sees on the address's signature page."""
    return list(_shown_on_address(user, address)
                .select_related("user", "template__current_version", "version",
                                "address__mail_service__organisation")
                .order_by("template__name", "user__email"))


def signature_on_address(user, address, pk) -> Signature:
    """One signature of that page, by the same rule (a 404 for any other)."""
    return get_object_or_404(_shown_on_address(user, address).select_related("template"), pk=pk)


def settings_of(address) -> AddressSignatureSettings:
    """The address's switches (the defaults when it never had any: on, new messages only)."""
    row = AddressSignatureSettings.objects.filter(address=address).select_related("template").first()
    return row or AddressSignatureSettings(address=address)


def warnings_shown(signature_or_warnings) -> list[str]:
    warnings = getattr(signature_or_warnings, "warnings", signature_or_warnings)
    return [warning_message(w) for w in warnings or []]


# --- preview -----------------------------------------------------------------------------

def preview_people(service) -> list[AddressAccess]:
    """Every real user of the service, by address, for "preview as"."""
    return list(AddressAccess.objects.filter(address__mail_service=service)
                .select_related("user", "address").order_by("address__local_part", "user__email"))


def preview(template: SignatureTemplate, *, access: AddressAccess | None = None,
            address: Address | None = None, draft: bool = True) -> render.Rendered:
    """The template (its draft, or its published version) as the signature of a real user
    of the service (`access`), or as the generic signature of `address`; the user's own
    completed values when they have a signature of this template already."""
    design = render.design_from_dict(template.design if draft or not template.current_version_id
                                     else template.current_version.design)
    service = template.mail_service
    if access is not None:
        address, user = access.address, access.user
    else:
        user = None
    if address is None:
        address = Address(mail_service=service, local_part="example", display_name="")
    address.mail_service = service
    existing = None
    if address.pk:
        existing = Signature.objects.filter(template=template, address=address,
                                            user=user).first()
    signature = existing or Signature(values={})
    loaded = load_images(service.organisation_id, image_refs(design, [signature.values or {}]))
    return render_into(Signature(values=signature.values, user_done_at=signature.user_done_at),
                       design, profile_of(user, address, service.organisation.name), loaded)


# --- the data-quality report ------------------------------------------------------------

@dataclass
class ReportRow:
    address: Address
    state: str  # complete | waiting_for_user | missing_profile_data | no_signature
    people: list  # (label, signature state, outdated, [warning messages])


STATE_ORDER = {"missing_profile_data": 0, "waiting_for_user": 1, "complete": 2}


def quality_report(template: SignatureTemplate) -> list[ReportRow]:
    """Per address of the service: the state of its signatures of this template
    (complete, waiting for the user, missing profile data), the worst one first shown for
    the address. Three queries whatever the number of addresses."""
    service = template.mail_service
    addresses = list(Address.objects.filter(mail_service=service).order_by("local_part"))
    by_address = defaultdict(list)
    for signature in (Signature.objects.filter(template=template).select_related("user")
                      .order_by("address_id", "user__email")):
        by_address[signature.address_id].append(signature)
    rows = []
    for address in addresses:
        address.mail_service = service
        signatures = by_address.get(address.pk, [])
        people = [(s.user.email if s.user_id else "generic", s.state,
                   s.version_id != template.current_version_id, warnings_shown(s))
                  for s in signatures]
        if not signatures:
            state = "no_signature"
        else:
            state = min((s.state for s in signatures), key=lambda x: STATE_ORDER.get(x, 3))
        rows.append(ReportRow(address, state, people))
    return rows


REPORT_COLUMNS = ["address", "user", "state", "outdated", "warnings"]


def report_csv_rows(template, rows: list[ReportRow]):
    """The report as CSV rows (one per signature; an address without any gets one row)."""
    yield REPORT_COLUMNS
    for row in rows:
        if not row.people:
            yield [row.address.email, "", row.state, "", ""]
        for label, state, outdated, warnings in row.people:
            yield [row.address.email, label, state, "yes" if outdated else "no",
                   " | ".join(warnings)]


# --- the desired stamping state ---------------------------------------------------------

def stamps_for_service(service: MailService) -> dict[str, stamping.Stamp]:
    """What the mail stack must stamp for the service's addresses ({email: Stamp}): the
    signatures of the template active on each address. Three queries whatever the number
    of addresses; the later milter push calls this with the service's desired state."""
    with translation.override(None):
        settings_rows = list(AddressSignatureSettings.objects.filter(
            address__mail_service=service, address__removed_at__isnull=True,
            template__isnull=False).select_related("address"))
        ids = [row.address_id for row in settings_rows]
        users = defaultdict(list)
        for address_id, user_id in AddressAccess.objects.filter(address_id__in=ids).values_list(
                "address_id", "user_id"):
            users[address_id].append(user_id)
        signatures = defaultdict(dict)
        wanted = {row.address_id: row.template_id for row in settings_rows}
        for address_id, template_id, user_id, html, text in Signature.objects.filter(
                address_id__in=ids).values_list("address_id", "template_id", "user_id", "html", "text"):
            if wanted.get(address_id) == template_id:
                signatures[address_id][user_id] = (html, text)
        for row in settings_rows:
            row.address.mail_service = service
        return stamping.desired_stamps(
            stamping.AddressSignatures(email=row.address.email, stamping=row.stamping,
                                       on_replies=row.on_replies,
                                       users=tuple(users[row.address_id]),
                                       signatures=signatures[row.address_id])
            for row in settings_rows)


__all__ = ["preview", "quality_report", "stamps_for_service", "template_for"]

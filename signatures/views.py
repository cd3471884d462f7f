"""Signature pages: the templates of a mail service (edit, preview as a real user,
publish, duplicate, hide, delete, create signatures, regenerate, the data-quality
report), the bulk activation from the address list with its progress bar, a person's
signatures of an address (their fields, copy and download, stamping), the framed
documents that show a signature's own HTML on those pages, and the public images mail
clients fetch."""
import csv
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from mailservice import selectors as mail_selectors
from mailservice.models import Address, AddressAccess, MailService, Permission
from mailservice.permissions import manages, may_on_address, permission_message
from manager.accounts.roles import CHANGE
from manager.core.csp import MAIL_HTML_FRAME_POLICY
from manager.core.errors import ServiceError
from manager.core.models import Job
from manager.core.permissions import may
from manager.core.views import RestrictedView, attachment_response, done, htmx_render, refused

from . import render as signature_render
from . import selectors, services
from .forms import ImageUploadForm, StampingForm, TemplateForm, field_rows, posted_fields
from .models import JobKind, Signature, SignatureImage, SignatureTemplate
from .services.common import image_url, warnings_data
from .words import FIELD_LABELS, SOURCE_LABELS

url_prefix = "signatures/"  # where manager/urls.py mounts these pages
app_name = "signatures"


def shown_html(markup: str):
    """Stored signature HTML for a page: sanitised again on the way out, so even a row
    written by other means cannot put markup on the page that the sanitiser refuses."""
    return mark_safe(signature_render.sanitise(markup))  # noqa: S308 — nh3's output


def signature_document(title: str, markup: str) -> str:
    """The signature as a whole HTML document: the download, and the framed view."""
    return format_html('<!doctype html><html><head><meta charset="utf-8">'
                       "<title>{}</title></head><body>{}</body></html>",
                       title, shown_html(markup))


def framed(document: str) -> HttpResponse:
    """A signature's document for an <iframe sandbox> of our own pages: its `style=`
    attributes apply there under a policy of its own (manager/core/csp.py), so the page
    around it keeps the strict one."""
    response = HttpResponse(document, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = MAIL_HTML_FRAME_POLICY
    response["X-Frame-Options"] = "SAMEORIGIN"  # instead of DENY: framed by our pages only
    return response


@login_required
def index(request):
    organisation = request.organisation
    services_ = []
    if organisation is not None and may(request.user, CHANGE, organisation_id=organisation.pk):
        services_ = list(MailService.objects.restrict(request.user, CHANGE)
                         .filter(organisation=organisation).order_by("domain"))
    mine = [a for a in mail_selectors.my_addresses(request.user)
            if Permission.MANAGE_SIGNATURE in a.permissions]
    return render(request, "signatures/index.html", {"services": services_, "mine": mine})


class ServiceTemplatesView(RestrictedView):
    """The service's templates, and a new one."""

    model = MailService
    template = "signatures/signaturetemplate_list.html"

    def get(self, request, service_pk):
        service = self.get_restricted(CHANGE, pk=service_pk)
        return render(request, self.template, {
            "service": service, "templates": selectors.templates_of(service),
            "layouts": SignatureTemplate.Layout.choices})


def _template_context(request, service, template, form, rows, **extra):
    accesses = selectors.preview_people(service)
    images = SignatureImage.objects.filter(organisation_id=service.organisation_id).defer("content")
    return {"service": service, "template": template, "form": form, "rows": rows,
            "sources": SOURCE_LABELS, "people": accesses, "images": images,
            "image_form": ImageUploadForm(), "image_url": image_url,
            "versions": template.versions.order_by("-number") if template else [], **extra}


class TemplateEditView(RestrictedView):
    """Create (`service_pk`) or edit (`pk`) a template: layout, fields and their sources,
    the own HTML block; save as draft or publish."""

    model = SignatureTemplate
    template = "signatures/signaturetemplate_form.html"

    def objects(self, service_pk=None, pk=None):
        if pk is not None:
            template = selectors.template_for(self.request.user, pk)
            self.require(CHANGE, template)
            return template.mail_service, template
        service = get_object_or_404(MailService.objects.restrict(self.request.user, CHANGE),
                                    pk=service_pk)
        return service, None

    def get(self, request, service_pk=None, pk=None):
        service, template = self.objects(service_pk, pk)
        if template is not None:
            design = signature_render.design_from_dict(template.design)
            form = TemplateForm(initial={
                "name": template.name, "layout": design.layout, "accent_color": design.accent_color,
                "image_width": design.image_width, "extra_html": design.extra_html,
                "for_existing_users": template.for_existing_users})
        else:
            layout = request.GET.get("layout", signature_render.SIMPLE)
            design = signature_render.Design(layout=layout, fields=tuple(
                signature_render.FieldSpec(k, "auto" if k in ("first_name", "last_name", "job_title",
                                                              "phone", "email", "company") else "user")
                for k in ("first_name", "last_name", "job_title", "company", "phone", "email")))
            form = TemplateForm(initial={"layout": layout, "name": ""})
        return render(request, self.template, _template_context(
            request, service, template, form, field_rows(design, design.layout)))

    def post(self, request, service_pk=None, pk=None):
        service, template = self.objects(service_pk, pk)
        form = TemplateForm(request.POST)
        rows = field_rows(signature_render.Design(), request.POST.get("layout", ""), request.POST)
        if not form.is_valid():
            return render(request, self.template, _template_context(
                request, service, template, form, rows), status=400)
        data = form.cleaned_data
        design = {"layout": data["layout"], "fields": posted_fields(request.POST, data["layout"]),
                  "extra_html": data["extra_html"], "accent_color": data["accent_color"],
                  "image_width": data["image_width"]}
        publish = request.POST.get("operation") == "publish"
        try:
            if template is None:
                template = services.template_create(
                    actor=request.user, service=service, name=data["name"],
                    for_existing_users=data["for_existing_users"], **design)
            else:
                template = services.template_update(
                    actor=request.user, template=template, name=data["name"],
                    for_existing_users=data["for_existing_users"], **design)
            job = services.template_publish(actor=request.user, template=template) if publish else None
        except ServiceError as exc:
            status = refused(request, exc, form)
            return render(request, self.template, _template_context(
                request, service, template, form, rows, field_errors=exc.fields), status=status)
        if job is not None:
            messages.success(request, _("Published; signatures are being made for the users."))
            return done(request, reverse("signatures:job", args=[job.pk]))
        messages.success(request, _("Published.") if publish else _("Draft saved."))
        return done(request, reverse("signatures:template_edit", args=[template.pk]))


class TemplateActionView(RestrictedView):
    """The actions of a template's menu: publish, duplicate, hide/show, delete, create
    signatures, regenerate outdated ones."""

    model = SignatureTemplate

    def post(self, request, pk):
        template = selectors.template_for(request.user, pk)
        operation = request.POST.get("operation")
        service = template.mail_service
        back = reverse("signatures:service", args=[service.pk])
        try:
            if operation == "publish":
                job = services.template_publish(actor=request.user, template=template)
                messages.success(request, _("Published."))
                if job is not None:
                    return done(request, reverse("signatures:job", args=[job.pk]))
            elif operation == "duplicate":
                copy = services.template_duplicate(actor=request.user, template=template)
                messages.success(request, _("Duplicated as “%(name)s”.") % {"name": copy.name})
                return done(request, reverse("signatures:template_edit", args=[copy.pk]))
            elif operation in ("hide", "show"):
                services.template_update(actor=request.user, template=template,
                                         hidden=operation == "hide")
                messages.success(request, _("Template hidden: no longer offered; existing signatures stay.")
                                 if operation == "hide" else _("Template offered again."))
            elif operation == "delete":
                services.template_delete(actor=request.user, template=template)
                messages.success(request, _("Template deleted."))
            elif operation in ("create_signatures", "regenerate"):
                job = services.job_start(actor=request.user, template=template, kind=operation)
                return done(request, reverse("signatures:job", args=[job.pk]))
            else:
                messages.error(request, _("Unknown operation."))
        except ServiceError as exc:
            messages.error(request, exc.message)
        return done(request, back)


class PreviewView(RestrictedView):
    """The template (draft) as the signature of a real user of the service (htmx partial):
    its HTML in a frame (PreviewFrameView, same choice of user), its text, its warnings."""

    model = SignatureTemplate
    partial = "signatures/_preview.html"

    def previewed(self, request, pk):
        """(template, the chosen user's access or None, the rendering) through the gate."""
        template = selectors.template_for(request.user, pk)
        self.require(CHANGE, template)
        access = None
        if request.GET.get("access", "").isdigit():
            access = get_object_or_404(AddressAccess.objects.filter(
                address__mail_service=template.mail_service).select_related("user", "address"),
                pk=request.GET["access"])
        return template, access, selectors.preview(template, access=access)

    def get(self, request, pk):
        template, access, rendered = self.previewed(request, pk)
        frame_url = reverse("signatures:template_preview_frame", args=[template.pk])
        if access is not None:
            frame_url += f"?access={access.pk}"
        context = {"template": template, "rendered": rendered, "frame_url": frame_url,
                   "warnings": selectors.warnings_shown(warnings_data(rendered)),
                   "access": access}
        return render(request, self.partial, context)


class PreviewFrameView(PreviewView):
    """The preview's HTML alone, the document its frame shows."""

    def get(self, request, pk):
        template, _access, rendered = self.previewed(request, pk)
        return framed(signature_document(template.name, rendered.html))


class ReportView(RestrictedView):
    model = SignatureTemplate
    template = "signatures/report.html"

    def get(self, request, pk, csv_file=False):
        template = selectors.template_for(request.user, pk)
        self.require(CHANGE, template)
        rows = selectors.quality_report(template)
        if csv_file:
            out = io.StringIO()
            writer = csv.writer(out)
            for row in selectors.report_csv_rows(template, rows):
                writer.writerow(row)
            return attachment_response(out.getvalue(), f"signatures-{template.pk}.csv",
                                       content_type="text/csv; charset=utf-8")
        states = {"complete": _("Complete"), "waiting_for_user": _("Waiting for the user"),
                  "missing_profile_data": _("Missing profile data"),
                  "no_signature": _("No signature")}
        counts = {key: sum(1 for r in rows if r.state == key) for key in states}
        return render(request, self.template, {"template": template, "rows": rows,
                                               "states": states, "counts": counts})


class ActivateView(RestrictedView):
    """The address list's bulk action "Apply a signature template": the selection comes
    in, a template of the service is chosen, the job starts and its progress shows."""

    model = Address
    template = "signatures/activate.html"

    def selection(self, request):
        ids = [i for i in request.POST.getlist("selected") if i.isdigit()]
        addresses = list(Address.objects.restrict(request.user, CHANGE).filter(pk__in=ids)
                         .select_related("mail_service").order_by("mail_service__domain", "local_part"))
        if not addresses:
            raise ServiceError(_("Select at least one address."), code="invalid")
        return addresses

    def post(self, request):
        try:
            addresses = self.selection(request)
        except ServiceError as exc:
            messages.error(request, exc.message)
            return done(request, reverse("mailservice:address_list"))
        service_ids = {a.mail_service_id for a in addresses}
        templates = list(SignatureTemplate.objects.filter(
            mail_service_id__in=service_ids, hidden=False, current_version__isnull=False)
            .select_related("mail_service").order_by("mail_service__domain", "name"))
        chosen = request.POST.get("template")
        if chosen and chosen.isdigit():
            template = next((t for t in templates if t.pk == int(chosen)), None)
            if template is None:
                raise Http404
            mine = [a for a in addresses if a.mail_service_id == template.mail_service_id]
            try:
                job = services.job_start(actor=request.user, template=template,
                                         kind=JobKind.ACTIVATE, addresses=mine)
            except ServiceError as exc:
                status = refused(request, exc)
                return render(request, self.template, {"addresses": addresses,
                                                       "templates": templates}, status=status)
            return done(request, reverse("signatures:job", args=[job.pk]))
        return render(request, self.template, {"addresses": addresses, "templates": templates})


class JobView(RestrictedView):
    """A bulk job's progress: the page polls its bar (htmx) until the job is over."""

    model = Job
    template = "signatures/job.html"
    partial = "signatures/_job_progress.html"

    def get(self, request, pk):
        job = selectors.job_for(request.user, pk)
        context = {"job": job, "kind": JobKind(job.kind), "job_template": selectors.job_template(job)}
        return htmx_render(request, self.template, context, partial=self.partial)


def signatures_page_address(request, address_pk):
    """The address whose signatures page (and framed signatures) the person may see: 404
    when the address is hidden from them, 403 without the permission."""
    address = mail_selectors.address_for(request.user, address_pk)
    if not (manages(request.user, address)
            or may_on_address(request.user, Permission.MANAGE_SIGNATURE, address)):
        raise PermissionDenied(permission_message([Permission.MANAGE_SIGNATURE]))
    return address


class AddressSignaturesView(RestrictedView):
    """A person's signatures of an address ("My mail" links here): the fields they
    complete, the preview, copy and download for a mail client, and stamping."""

    model = Address
    template = "signatures/address_signatures.html"

    def gate(self, request, address_pk):
        return signatures_page_address(request, address_pk)

    def context(self, request, address, **extra):
        signatures = selectors.signatures_of_address(request.user, address)
        cards = []
        for signature in signatures:
            design = signature_render.design_from_dict(signature.version.design)
            keys = services.editable_keys(design)
            values = signature.values or {}
            cards.append({
                "signature": signature,
                "copy_target": f"#signature-source-{signature.pk}",
                "warnings": selectors.warnings_shown(signature),
                "fields": [{"key": k, "label": FIELD_LABELS[k], "value": values.get(k, ""),
                            "kind": signature_render.f.FIELDS[k].kind} for k in keys],
                "errors": extra.get("errors", {}) if extra.get("failed") == signature.pk else {},
            })
        settings_row = selectors.settings_of(address)
        stamping_form = StampingForm(initial={"stamping": settings_row.stamping,
                                              "on_replies": "replies" if settings_row.on_replies else "new"})
        return {"address": address, "cards": cards, "settings": settings_row,
                "stamping_form": stamping_form, "can_manage": manages(request.user, address),
                "image_form": ImageUploadForm(), **extra}

    def get(self, request, address_pk):
        address = self.gate(request, address_pk)
        return render(request, self.template, self.context(request, address))

    def post(self, request, address_pk):
        address = self.gate(request, address_pk)
        operation = request.POST.get("operation")
        url = reverse("signatures:address", args=[address.pk])
        signature = None
        try:
            if operation == "values":
                signature = get_object_or_404(Signature.objects.filter(address=address)
                                              .select_related("version", "user", "template"),
                                              pk=request.POST.get("signature"))
                design = signature_render.design_from_dict(signature.version.design)
                values = {k: request.POST.get(f"value-{k}", "") for k in services.editable_keys(design)
                          if signature_render.f.FIELDS[k].kind != signature_render.f.IMAGE}
                if request.FILES.get("photo"):
                    photo = services.image_upload(actor=request.user, service=address.mail_service,
                                                  data=request.FILES["photo"].read(),
                                                  alt=request.POST.get("alt", ""), address=address)
                    values["photo"] = str(photo.ref)
                services.signature_update(actor=request.user, signature=signature, values=values)
                messages.success(request, _("Signature saved."))
            elif operation == "stamping":
                form = StampingForm(request.POST)
                if form.is_valid():
                    services.stamping_update(actor=request.user, address=address,
                                             stamping=form.cleaned_data["stamping"],
                                             on_replies=form.cleaned_data["on_replies"] == "replies")
                    messages.success(request, _("Stamping settings saved."))
            else:
                messages.error(request, _("Unknown operation."))
        except ServiceError as exc:
            status = refused(request, exc)
            return render(request, self.template, self.context(
                request, address, errors=exc.fields, failed=signature.pk if signature else None),
                status=status)
        return done(request, url)


class SignatureFrameView(RestrictedView):
    """One signature of that page, the document its frame shows."""

    model = Address

    def get(self, request, address_pk, pk):
        address = signatures_page_address(request, address_pk)
        signature = selectors.signature_on_address(request.user, address, pk)
        return framed(signature_document(signature.template.name, signature.html))


@login_required
@require_GET
def download(request, pk):
    """The signature as an .html file for a mail client that imports one."""
    signature = get_object_or_404(Signature.objects.only("pk", "address_id", "user_id", "html"),
                                  pk=pk)
    address = mail_selectors.address_for(request.user, signature.address_id)  # 404 if hidden
    if not manages(request.user, address) and not (
            signature.user_id == request.user.pk
            and may_on_address(request.user, Permission.MANAGE_SIGNATURE, address)):
        raise Http404
    return attachment_response(signature_document(address.email, signature.html), f"signature-{address.email}.html",
                               content_type="text/html; charset=utf-8")


@require_GET
@cache_control(public=True, max_age=86400)
def image(request, ref, extension):
    """Public: mail clients fetch signature images without logging in; the ref is a
    random UUID. Served as stored (re-encoded PNG or JPEG), never sniffed."""
    found = get_object_or_404(SignatureImage, ref=ref)
    if extension != found.extension:
        raise Http404
    response = HttpResponse(bytes(found.content), content_type=found.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


class ImageUploadView(RestrictedView):
    model = MailService

    def post(self, request, service_pk):
        service = self.get_restricted(CHANGE, pk=service_pk)
        form = ImageUploadForm(request.POST, request.FILES)
        back = request.POST.get("next") or reverse("signatures:service", args=[service.pk])
        if not back.startswith("/") or back.startswith("//"):
            back = reverse("signatures:service", args=[service.pk])
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return done(request, back)
        try:
            services.image_upload(actor=request.user, service=service,
                                  data=form.cleaned_data["file"].read(), alt=form.cleaned_data["alt"])
            messages.success(request, _("Image uploaded."))
        except ServiceError as exc:
            messages.error(request, exc.message)
        return done(request, back)


urlpatterns = [
    path("", index, name="index"),
    path("services/<int:service_pk>/", ServiceTemplatesView.as_view(), name="service"),
    path("services/<int:service_pk>/new/", TemplateEditView.as_view(), name="template_new"),
    path("services/<int:service_pk>/images/", ImageUploadView.as_view(), name="image_upload"),
    path("templates/<int:pk>/", TemplateEditView.as_view(), name="template_edit"),
    path("templates/<int:pk>/actions/", TemplateActionView.as_view(), name="template_action"),
    path("templates/<int:pk>/preview/", PreviewView.as_view(), name="template_preview"),
    path("templates/<int:pk>/preview/frame/", PreviewFrameView.as_view(),
         name="template_preview_frame"),
    path("templates/<int:pk>/report/", ReportView.as_view(), name="template_report"),
    path("templates/<int:pk>/report.csv", ReportView.as_view(), {"csv_file": True},
         name="template_report_csv"),
    path("activate/", ActivateView.as_view(), name="activate"),
    path("jobs/<int:pk>/", JobView.as_view(), name="job"),
    path("addresses/<int:address_pk>/", AddressSignaturesView.as_view(), name="address"),
    path("addresses/<int:address_pk>/signatures/<int:pk>/frame/", SignatureFrameView.as_view(),
         name="signature_frame"),
    path("download/<int:pk>/", download, name="download"),
    path("images/<uuid:ref>.<str:extension>", image, name="image"),
]

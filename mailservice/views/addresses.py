"""Address pages: the list (search, filters, bulk actions), creation with the catchall
warnings, the CSV import (upload, preview, progress) and the detail page (settings,
auto-reply, aliases, redirections)."""
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from manager.accounts.roles import ADD, DELETE
from manager.core.errors import ServiceError
from manager.core.models import Job
from manager.core.permissions import may
from manager.core.views import RestrictedView, done, htmx_render, refused

from .. import permissions, selectors, services
from ..filters import ADDRESS_ORDERINGS, AddressListFilter
from ..forms import (
    AddressBulkForm,
    AddressCreateForm,
    AddressSettingsForm,
    AliasForm,
    AutoReplyForm,
    RedirectionForm,
)
from ..models import CATCHALL_LOCAL_PART, Address, MailService, Permission
from ..permissions import manages
from ..services import bulk
from .mail_services import backend_status

PAGE_SIZE = 50


class AddressMixin:
    """Looks the address up through the gate: another organisation's address is a 404."""

    def get_address(self, pk) -> Address:
        return selectors.address_for(self.request.user, pk)


class AddressListView(RestrictedView):
    model = Address
    template = "mailservice/address_list.html"
    partial = "mailservice/_address_table.html"

    def addresses(self):
        organisation = self.request.organisation
        if organisation is None:
            return Address.objects.none()
        return Address.objects.restrict(self.request.user, "view").filter(
            mail_service__organisation=organisation)

    def context(self, **extra):
        request = self.request
        filterset = AddressListFilter(request.GET, request=request,
                                      queryset=self.addresses().select_related("mail_service")
                                      .order_by(*ADDRESS_ORDERINGS["email"]))
        page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
        rows = list(page.object_list)
        # One query for the whole page's backend status, keyed by the service's domain.
        jobs = selectors.sync_jobs({a.mail_service.domain for a in rows})
        for address in rows:
            address.sync = backend_status(request.user, address.mail_service,
                                          jobs.get(address.mail_service.domain))
        query = request.GET.copy()
        query.pop("page", None)
        organisation = request.organisation
        can_manage = organisation is not None and may(request.user, DELETE,
                                                      organisation_id=organisation.pk)
        removed = []
        if can_manage:
            removed = (Address.removed.restrict(request.user, DELETE)
                       .filter(mail_service__organisation=organisation)
                       .select_related("mail_service").order_by("purge_after", "pk"))
        return {
            "filter": filterset, "page": page, "rows": rows, "query": query.urlencode(),
            "can_manage": can_manage, "removed": removed,
            "can_add": organisation is not None and may(request.user, ADD,
                                                        organisation_id=organisation.pk),
            **extra,
        }

    def get(self, request):
        return htmx_render(request, self.template, self.context(), partial=self.partial)

    def post(self, request):
        if request.POST.get("operation") == "restore":
            return self.restore(request)
        form = AddressBulkForm(request.POST, addresses=self.addresses().select_related("mail_service"))
        url = request.get_full_path()
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return render(request, self.template, self.context(), status=400)
        operation = form.cleaned_data["operation"]
        selected = list(form.cleaned_data["selected"])
        try:
            services.addresses_bulk(actor=request.user, addresses=selected, operation=operation)
        except ServiceError as exc:
            status = refused(request, exc)
            return render(request, self.template, self.context(), status=status)
        count = len(selected)
        if operation == "delete":
            text = ngettext("%(count)d address removed; it can be restored below until its mail is purged.",
                            "%(count)d addresses removed; they can be restored below until their mail is purged.",
                            count)
        elif operation == "enable":
            text = ngettext("%(count)d address enabled.", "%(count)d addresses enabled.", count)
        else:
            text = ngettext("%(count)d address disabled.", "%(count)d addresses disabled.", count)
        messages.success(request, text % {"count": count})
        return done(request, url)


    def restore(self, request):
        address = get_object_or_404(Address.removed.restrict(request.user, DELETE)
                                    .select_related("mail_service"), pk=request.POST.get("address"))
        try:
            services.address_restore(actor=request.user, address=address)
        except ServiceError as exc:
            status = refused(request, exc)
            return render(request, self.template, self.context(), status=status)
        messages.success(request, _("%(email)s restored, with its mail.") % {"email": address.email})
        return done(request, request.get_full_path())


class AddressCreateView(RestrictedView):
    model = Address
    template = "mailservice/address_form.html"
    warning = "mailservice/_address_catchall_warning.html"

    def organisation(self):
        """Only organisation managers add addresses; to anyone else the page doesn't exist."""
        organisation = self.request.organisation
        if organisation is None or not may(self.request.user, ADD, organisation_id=organisation.pk):
            raise Http404
        return organisation

    def context(self, form):
        """The catchall warning shows as soon as the local part is `catchall`, with the
        plan's refusal when the chosen service's plan has no catchall."""
        data = form.data if form.is_bound else form.initial
        service = None
        service_id = data.get("mail_service")
        if service_id and str(service_id).isdigit():
            service = form.fields["mail_service"].queryset.filter(pk=service_id).first()
        return {"form": form, "is_catchall": form.is_catchall, "service": service,
                "plan_refuses_catchall": service is not None and not service.plan_info.catchall}

    def get(self, request):
        organisation = self.organisation()
        initial = {k: request.GET[k] for k in ("local_part", "mail_service") if k in request.GET}
        form = AddressCreateForm(initial=initial, user=request.user, organisation=organisation)
        # htmx asks again while the local part is typed: answer with the warning only.
        partial = self.warning if "local_part" in request.GET else None
        return htmx_render(request, self.template, self.context(form), partial=partial)

    def post(self, request):
        organisation = self.organisation()
        form = AddressCreateForm(request.POST, user=request.user, organisation=organisation)
        if not form.is_valid():
            return render(request, self.template, self.context(form), status=400)
        data = form.cleaned_data
        try:
            address = services.address_create(
                actor=request.user, service=data["mail_service"], local_part=data["local_part"],
                display_name=data["display_name"], quota_mb=data["quota_mb"])
        except ServiceError as exc:
            status = refused(request, exc, form)
            return render(request, self.template, self.context(form), status=status)
        messages.success(request, _("%(email)s created.") % {"email": address.email})
        return done(request, reverse("mailservice:address_detail", args=[address.pk]))


class AddressDetailView(AddressMixin, RestrictedView):
    model = Address
    template = "mailservice/address_detail.html"

    def context(self, address, **extra):
        user = self.request.user
        can_manage = manages(user, address)
        mine = [] if can_manage else permissions.granted(user, address)
        return {
            "address": address,
            "service": address.mail_service,
            "catchall": CATCHALL_LOCAL_PART,
            "sync": backend_status(user, address.mail_service),
            "aliases": address.aliases.select_related("mail_service") if can_manage else [],
            "redirections": address.redirections.all(),
            "can_manage": can_manage,
            "can_delete": may(user, DELETE, organisation_id=address.mail_service.organisation_id),
            "can_autoreply": can_manage or Permission.MANAGE_AUTOREPLY in mine,
            "can_redirect": can_manage or Permission.MANAGE_REDIRECTIONS in mine,
            "can_rules": can_manage or Permission.MANAGE_RULES in mine,
            "can_setup": can_manage or bool(set(permissions.CLIENT_SETUP) & set(mine)),
            "can_delivery_log": can_manage or Permission.READ in mine,
            "permission_labels": permissions.labels(mine),
            "settings_form": AddressSettingsForm(initial={
                "display_name": address.display_name, "quota_mb": address.quota_mb,
                "enabled": address.enabled}),
            "autoreply_form": AutoReplyForm(address=address),
            "alias_form": AliasForm(),
            "redirection_form": RedirectionForm(),
            **extra,
        }

    def get(self, request, pk):
        address = self.get_address(pk)
        return render(request, self.template, self.context(address))

    # operation → (form class, its name in the page context)
    FORMS = {
        "update": (AddressSettingsForm, "settings_form"),
        "autoreply": (AutoReplyForm, "autoreply_form"),
        "alias_add": (AliasForm, "alias_form"),
        "redirection_add": (RedirectionForm, "redirection_form"),
    }

    def post(self, request, pk):
        address = self.get_address(pk)
        operation = request.POST.get("operation")
        url = reverse("mailservice:address_detail", args=[address.pk])
        form = None
        if operation in self.FORMS:
            form_class, name = self.FORMS[operation]
            extra = {"address": address} if form_class is AutoReplyForm else {}
            form = form_class(request.POST, **extra)
            if not form.is_valid():
                return render(request, self.template, self.context(address, **{name: form}),
                              status=400)
        try:
            if operation in ("update", "autoreply"):
                services.address_update(actor=request.user, address=address, **form.cleaned_data)
                message = _("Settings saved.") if operation == "update" else _("Auto-reply saved.")
            elif operation == "alias_add":
                alias = services.alias_create(actor=request.user, address=address,
                                              local_part=form.cleaned_data["local_part"])
                message = _("Alias %(alias)s added.") % {"alias": alias}
            elif operation == "alias_delete":
                alias = get_object_or_404(address.aliases, pk=request.POST.get("alias"))
                services.alias_delete(actor=request.user, alias=alias)
                message = _("Alias deleted.")
            elif operation == "redirection_add":
                services.redirection_create(actor=request.user, address=address,
                                            **form.cleaned_data)
                message = _("Redirection added.")
            elif operation == "redirection_delete":
                redirection = get_object_or_404(address.redirections, pk=request.POST.get("redirection"))
                services.redirection_delete(actor=request.user, redirection=redirection)
                message = _("Redirection deleted.")
            elif operation == "delete":
                email = address.email
                services.address_delete(actor=request.user, address=address)
                messages.success(request, _("%(email)s removed. It can be restored from the address "
                                            "list until its mail is purged.") % {"email": email})
                return done(request, reverse("mailservice:address_list"))
            else:
                messages.error(request, _("Unknown operation."))
                return render(request, self.template, self.context(address), status=400)
        except ServiceError as exc:
            status = refused(request, exc, form)
            address.refresh_from_db()  # drop the refused values
            extra = {self.FORMS[operation][1]: form} if form is not None else {}
            return render(request, self.template, self.context(address, **extra), status=status)
        messages.success(request, message)
        return done(request, url)


class AddressImportView(RestrictedView):
    """Upload a CSV file: a dry run checks every row first (the job page shows its
    progress, then the preview or the errors); importing is a second step from there."""

    model = Address
    template = "mailservice/address_import.html"

    def services_(self):
        organisation = self.request.organisation
        if organisation is None or not may(self.request.user, ADD, organisation_id=organisation.pk):
            raise Http404
        return MailService.objects.restrict(self.request.user, ADD).filter(organisation=organisation)

    def context(self, **extra):
        return {"services": self.services_(), "columns": bulk.COLUMNS, **extra}

    def get(self, request):
        return render(request, self.template, self.context())

    def post(self, request):
        service = self.services_().filter(pk=request.POST.get("mail_service") or 0).first()
        upload = request.FILES.get("file")
        if service is None or upload is None:
            messages.error(request, _("Choose a mail service and a CSV file."))
            return render(request, self.template, self.context(), status=400)
        try:
            job = bulk.import_start(actor=request.user, service=service, data=upload.read(),
                                    dry_run=True)
        except ServiceError as exc:
            status = refused(request, exc)
            return render(request, self.template, self.context(), status=status)
        return redirect("mailservice:import_job", pk=job.pk)


class ImportJobView(RestrictedView):
    """An import's page: a progress bar that asks again every second (htmx) while the job
    runs, then the preview of a dry run with the button to import, the errors of a
    refused file, or what was imported."""

    model = Job
    template = "mailservice/import_job.html"
    partial = "mailservice/_import_job.html"

    def job(self, pk) -> Job:
        return get_object_or_404(Job.objects.restrict(self.request.user, ADD)
                                 .filter(kind=bulk.IMPORT_KIND), pk=pk)

    def get(self, request, pk):
        job = self.job(pk)
        service = MailService.objects.filter(pk=job.params.get("mail_service")).first()
        return htmx_render(request, self.template, {"job": job, "service": service},
                           partial=self.partial)

    def post(self, request, pk):
        job = self.job(pk)
        if not (job.state == Job.State.DONE and job.params.get("dry_run")):
            raise Http404
        try:
            again = bulk.import_again(actor=request.user, job=job)
        except ServiceError as exc:
            refused(request, exc)
            return redirect("mailservice:import_job", pk=job.pk)
        return done(request, reverse("mailservice:import_job", args=[again.pk]))


urlpatterns = [
    path("mail/addresses/", AddressListView.as_view(), name="address_list"),
    path("mail/addresses/new/", AddressCreateView.as_view(), name="address_new"),
    path("mail/addresses/import/", AddressImportView.as_view(), name="address_import"),
    path("mail/imports/<int:pk>/", ImportJobView.as_view(), name="import_job"),
    path("mail/addresses/<int:pk>/", AddressDetailView.as_view(), name="address_detail"),
]

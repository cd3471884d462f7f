"""Mail service pages: list, create, detail (with its addresses), plan change, delete, and
the backend status badge that pending pages poll."""
from dataclasses import replace

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from manager.accounts.roles import ADD, CHANGE, DELETE, VIEW
from manager.core.errors import ServiceError
from manager.core.permissions import may
from manager.core.views import RestrictedView, done, refused, sync_state

from .. import services
from ..forms import MailServiceCreateForm, MailServicePlanForm
from ..models import Address, MailService
from ..plans import PLANS
from ..selectors import mail_dns, storage_summary, sync_jobs

PLAN_FEATURES = [
    ("max_addresses", gettext_lazy("Addresses")),
    ("sorting_rules", gettext_lazy("Sorting rules")),
    ("advanced_sieve", gettext_lazy("Advanced (Sieve) mode")),
    ("catchall", gettext_lazy("Catchall")),
]


class MailServiceListView(RestrictedView):
    model = MailService
    template = "mailservice/mailservice_list.html"

    def get(self, request, status=200):
        organisation = request.organisation
        if organisation is not None and not may(request.user, VIEW, organisation_id=organisation.pk):
            raise Http404  # a person who only uses addresses: their place is "My mail"
        mail_services = []
        if organisation is not None:
            mail_services = list(
                MailService.objects.restrict(request.user, "view")
                .filter(organisation=organisation).annotate(n_addresses=Count("addresses", filter=Q(addresses__removed_at__isnull=True)))
                .order_by("domain"))
        jobs = sync_jobs([s.domain for s in mail_services])
        for service in mail_services:
            service.sync = sync_state(jobs.get(service.domain))
        can_add = organisation is not None and may(request.user, ADD, organisation_id=organisation.pk)
        return render(request, self.template, {"mail_services": mail_services, "can_add": can_add,
                                               "removed": self.removed(request)}, status=status)

    def removed(self, request):
        """Removed services the person may restore (those who may delete them)."""
        organisation = request.organisation
        if organisation is None or not may(request.user, DELETE, organisation_id=organisation.pk):
            return []
        return (MailService.removed.restrict(request.user, DELETE).filter(organisation=organisation)
                .order_by("purge_after", "pk"))

    def post(self, request):
        if request.POST.get("operation") != "restore":
            messages.error(request, _("Unknown operation."))
            return self.get(request, status=400)
        service = get_object_or_404(MailService.removed.restrict(request.user, DELETE),
                                    pk=request.POST.get("service"))
        try:
            services.mail_service_restore(actor=request.user, service=service)
        except ServiceError as exc:
            return self.get(request, status=refused(request, exc))
        messages.success(request, _("Mail service %(domain)s restored, with its addresses and their "
                                    "mail.") % {"domain": service.domain})
        return done(request, reverse("mailservice:service_detail", args=[service.pk]))


class MailServiceCreateView(RestrictedView):
    model = MailService
    template = "mailservice/mailservice_form.html"

    def organisation(self):
        organisation = self.request.organisation
        if organisation is None:
            raise PermissionDenied(_("Create or join an organisation first."))
        if not may(self.request.user, ADD, organisation_id=organisation.pk):
            raise Http404
        return organisation

    def context(self, form):
        return {"form": form, "plans": plan_rows(), "features": PLAN_FEATURES}

    def get(self, request):
        self.organisation()
        return render(request, self.template, self.context(MailServiceCreateForm()))

    def post(self, request):
        organisation = self.organisation()
        form = MailServiceCreateForm(request.POST)
        if not form.is_valid():
            return render(request, self.template, self.context(form), status=400)
        try:
            service = services.mail_service_create(actor=request.user, organisation=organisation,
                                                   **form.cleaned_data)
        except ServiceError as exc:
            status = refused(request, exc, form)
            return render(request, self.template, self.context(form), status=status)
        messages.success(request, _("Mail service %(domain)s created.") % {"domain": service.domain})
        return done(request, reverse("mailservice:service_detail", args=[service.pk]))


def plan_rows():
    """The plan table as rows for a template (the data stays in plans.py)."""
    return [
        {"slug": p.slug, "name": p.name, "max_addresses": p.max_addresses,
         "min_capacity": p.min_capacity, "capacity_step": p.capacity_step,
         "sorting_rules": p.sorting_rules, "advanced_sieve": p.advanced_sieve,
         "catchall": p.catchall, "storage_gb_per_address": (
             p.storage_mb_per_address // 1024 if p.storage_mb_per_address else None)}
        for p in PLANS.values()
    ]


class MailServiceDetailView(RestrictedView):
    model = MailService
    template = "mailservice/mailservice_detail.html"
    addresses_shown = 50  # more: a link to the address list filtered on the service

    def context(self, service, **extra):
        user = self.request.user
        addresses = (Address.objects.restrict(user, "view").filter(mail_service=service)
                     .select_related("mail_service").order_by("local_part"))
        return {
            "service": service,
            "address_count": service.addresses.count(),
            "storage": storage_summary(service),
            "addresses": addresses[:self.addresses_shown],
            "can_add_address": may(user, ADD, organisation_id=service.organisation_id),
            "sync": backend_status(user, service),
            "plans": plan_rows(),
            "features": PLAN_FEATURES,
            "can_change": may(user, CHANGE, organisation_id=service.organisation_id),
            "can_delete": may(user, DELETE, organisation_id=service.organisation_id),
            "plan_form": MailServicePlanForm(initial={"plan": service.plan,
                                                      "capacity": service.capacity}),
            "dns": mail_dns(service),
            **extra,
        }

    def get(self, request, pk):
        service = self.get_restricted(pk=pk)
        return render(request, self.template, self.context(service))

    def post(self, request, pk):
        service = self.get_restricted(pk=pk)
        operation = request.POST.get("operation")
        try:
            if operation == "change_plan":
                form = MailServicePlanForm(request.POST)
                if not form.is_valid():
                    return render(request, self.template, self.context(service, plan_form=form),
                                  status=400)
                try:
                    services.mail_service_update(actor=request.user, service=service,
                                                 **form.cleaned_data)
                except ServiceError as exc:
                    status = refused(request, exc, form)
                    return render(request, self.template, self.context(service, plan_form=form),
                                  status=status)
                messages.success(request, _("Plan changed."))
            elif operation == "sync":
                services.mail_service_sync(actor=request.user, service=service)
                messages.success(request, _("A push of the whole service to the mail backend is queued."))
            elif operation == "delete":
                domain = service.domain
                services.mail_service_delete(actor=request.user, service=service)
                messages.success(request, _("Mail service %(domain)s removed. It can be restored from "
                                            "the list of mail services until its mail is purged.")
                                 % {"domain": domain})
                return done(request, reverse("mailservice:service_list"))
            else:
                messages.error(request, _("Unknown operation."))
                return render(request, self.template, self.context(service), status=400)
        except ServiceError as exc:
            status = refused(request, exc)
            return render(request, self.template, self.context(service), status=status)
        return done(request, reverse("mailservice:service_detail", args=[service.pk]))

    def restricted_queryset(self):
        return MailService.objects.select_related("organisation")


def backend_status(user, service, job=None):
    """The service's backend status as a page shows it to `user` (`job`: its push job, when
    the page fetched them all at once). The backend's error text is for the organisation's
    managers only: a person who uses an address sees the status, not the internals."""
    if job is None:
        job = sync_jobs([service.domain]).get(service.domain)
    state = sync_state(job)
    if may(user, CHANGE, organisation_id=service.organisation_id):
        return state
    return replace(state, error="")


def status_badge(request, service) -> HttpResponse:
    """The backend status badge alone (templates/components/sync_status.html): a page asks
    for it every 2 s while it is pending; the answer stops asking once applied or failed.
    The backend's error text is for the organisation's managers only."""
    sync = backend_status(request.user, service)
    response = render(request, "components/sync_status.html",
                      {"sync": sync, "status_url": request.path})
    add_never_cache_headers(response)
    return response


class MailServiceStatusView(RestrictedView):
    """Through the gate: another organisation's service is a 404."""

    model = MailService

    def get(self, request, pk):
        return status_badge(request, self.get_restricted(pk=pk))


class AddressStatusView(RestrictedView):
    """The status of the address's mail service, for the address page: people who see the
    address but not its mail service follow it too. Another organisation's address is a 404."""

    model = Address

    def restricted_queryset(self):
        return Address.objects.select_related("mail_service")

    def get(self, request, pk):
        return status_badge(request, self.get_restricted(pk=pk).mail_service)


urlpatterns = [
    path("mail/", MailServiceListView.as_view(), name="service_list"),
    path("mail/services/new/", MailServiceCreateView.as_view(), name="service_new"),
    path("mail/services/<int:pk>/", MailServiceDetailView.as_view(), name="service_detail"),
    path("mail/services/<int:pk>/status/", MailServiceStatusView.as_view(), name="service_status"),
    path("mail/addresses/<int:pk>/status/", AddressStatusView.as_view(), name="address_status"),
]

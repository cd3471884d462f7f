"""The domain list and the domain page (settings, push, synonyms, deletion), the push
status fragment and the external check."""
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from manager.accounts.roles import ADD, VIEW
from manager.core.errors import ServiceError
from manager.core.permissions import may
from manager.core.views import (
    RestrictedView,
    done,
    refused,
)

from .. import selectors, services
from ..external import check_records
from ..forms import (
    DomainCreateForm,
    DomainSettingsForm,
)
from ..models import Domain
from .domain_scope import DomainMixin, zone_status
from .security import SEVERITY_BADGES, severity_label
from .zone_page import synonym_form, zone_context


class DomainListView(RestrictedView):
    model = Domain
    template = "dnszones/domain_list.html"

    def organisation(self):
        organisation = self.request.organisation
        if organisation is not None and not may(self.request.user, VIEW,
                                                organisation_id=organisation.pk):
            raise Http404  # a person who only uses addresses
        return organisation

    def context(self, form=None):
        organisation = self.organisation()
        domains = []
        if organisation is not None:
            domains = list(Domain.objects.restrict(self.request.user, "view")
                           .filter(organisation=organisation)
                           .annotate(n_records=Count("records")).order_by("name"))
        jobs = selectors.sync_jobs([d.name for d in domains])
        checks = selectors.security_badges([d.pk for d in domains])
        for domain in domains:
            domain.sync = zone_status(self.request.user, domain, jobs.get(domain.name))
            row = checks.get(domain.pk)
            domain.security = row and {"worst": row["worst"], "label": severity_label(row["worst"]),
                                       "badge": SEVERITY_BADGES[row["worst"]]}
        can_add = organisation is not None and may(self.request.user, ADD,
                                                   organisation_id=organisation.pk)
        return {"domains": domains, "can_add": can_add, "form": form or DomainCreateForm()}

    def get(self, request):
        return render(request, self.template, self.context())

    def post(self, request):
        organisation = self.organisation()
        if organisation is None:
            raise PermissionDenied(_("Create or join an organisation first."))
        form = DomainCreateForm(request.POST)
        if not form.is_valid():
            return render(request, self.template, self.context(form), status=400)
        try:
            domain = services.domain_create(actor=request.user, organisation=organisation,
                                            **form.cleaned_data)
        except ServiceError as exc:
            status = refused(request, exc, form)
            return render(request, self.template, self.context(form), status=status)
        messages.success(request, _("Domain %(domain)s added.") % {"domain": domain.unicode_name})
        return done(request, reverse("dnszones:domain_detail", args=[domain.pk]))


class DomainDetailView(DomainMixin, RestrictedView):
    model = Domain
    template = "dnszones/domain_detail.html"

    def get(self, request, pk):
        return render(request, self.template, zone_context(request, self.get_domain(pk)))

    def post(self, request, pk):
        domain = self.get_domain(pk)
        operation = request.POST.get("operation")
        try:
            if operation == "sync":
                services.domain_sync(actor=request.user, domain=domain)
                messages.success(request, _("A push of the whole zone to the DNS server is queued."))
            elif operation == "settings":
                form = DomainSettingsForm(request.POST)
                if not form.is_valid():
                    return render(request, self.template,
                                  zone_context(request, domain, settings_form=form), status=400)
                services.domain_update(actor=request.user, domain=domain, **form.cleaned_data)
                messages.success(request, _("Settings saved."))
            elif operation == "synonym_add":
                form = synonym_form(request, domain, request.POST)
                if not form.is_valid():
                    return render(request, self.template,
                                  zone_context(request, domain, synonym_form=form), status=400)
                synonym = services.synonym_add(actor=request.user, main=domain,
                                               synonym=form.cleaned_data["synonym"])
                messages.success(request, _("%(synonym)s is now a synonym of %(main)s.")
                                 % {"synonym": synonym.unicode_name, "main": domain.unicode_name})
            elif operation == "synonym_remove":
                synonym = get_object_or_404(Domain.objects.restrict(request.user, "view"),
                                            pk=request.POST.get("synonym") or 0)
                if synonym.pk != domain.pk and synonym.synonym_of_id != domain.pk:
                    raise Http404
                services.synonym_remove(actor=request.user, synonym=synonym)
                messages.success(request, _("%(synonym)s is dissociated: it keeps nothing of "
                                            "its main domain.") % {"synonym": synonym.unicode_name})
            elif operation == "delete":
                services.domain_delete(actor=request.user, domain=domain)
                messages.success(request, _("Domain %(domain)s deleted.") % {"domain": domain.unicode_name})
                return done(request, reverse("dnszones:index"))
            else:
                messages.error(request, _("Unknown operation."))
                return render(request, self.template, zone_context(request, domain), status=400)
        except ServiceError as exc:
            status = refused(request, exc)
            return render(request, self.template, zone_context(request, domain), status=status)
        return done(request, reverse("dnszones:domain_detail", args=[domain.pk]))


class ZoneStatusView(DomainMixin, RestrictedView):
    model = Domain

    def get(self, request, pk):
        domain = self.get_domain(pk)
        response = render(request, "components/sync_status.html",
                          {"sync": zone_status(request.user, domain), "status_url": request.path})
        add_never_cache_headers(response)
        return response


class ExternalCheckView(DomainMixin, RestrictedView):
    """Are the records there, where the world looks them up (the product's resolver)?"""

    model = Domain

    def get(self, request, pk):
        domain = self.get_domain(pk)
        rows = check_records(domain, selectors.records_of(domain))
        response = render(request, "dnszones/_check.html", {"domain": domain, "rows": rows})
        add_never_cache_headers(response)
        return response

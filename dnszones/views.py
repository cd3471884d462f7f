"""Domains & DNS pages: the domain list, the zone page (records with filters, inline add and
edit through htmx, push status and "Push now"), zone-file import with a preview, export,
and for a domain served elsewhere the records to create there and whether they are."""
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from manager.accounts.roles import ADD, CHANGE, DELETE, VIEW
from manager.core.errors import ServiceError
from manager.core.permissions import may
from manager.core.views import (
    RestrictedView,
    SyncState,
    add_service_errors,
    attachment_response,
    done,
    htmx_render,
    refused,
    sync_state,
)

from . import selectors, services
from .external import check_records
from .forms import (
    DomainCreateForm,
    DomainSettingsForm,
    RecordForm,
    RecordListFilter,
    SynonymAddForm,
    ZoneImportForm,
)
from .models import Domain, Record, SpfFlattening
from .services import security as security_services
from .services import spf as spf_services
from .spf import terms as spf_terms


def zone_status(user, domain, job=None) -> SyncState:
    """The zone's push status as a page shows it; the server's error is for managers only."""
    if job is None:
        job = selectors.sync_jobs([domain.name]).get(domain.name)
    state = sync_state(job)
    if job is None and not domain.uses_our_dns:
        state = SyncState("applied", _("Not served by us"))
    if not may(user, CHANGE, organisation_id=domain.organisation_id):
        state = SyncState(state.status, state.label, "", state.applied_at)
    return state


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


class DomainMixin:
    def get_domain(self, pk, action=VIEW) -> Domain:
        domain = selectors.domain_for(self.request.user, pk)
        if action != VIEW:
            self.require(action, domain)
        return domain


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


def records_context(request, domain, *, form=None, query=None):
    query = request.GET if query is None else query
    filterset = RecordListFilter(query, queryset=selectors.records_of(domain))
    user = request.user
    return {"domain": domain, "records": list(filterset.qs), "filter": filterset,
            "record_form": form or RecordForm(initial={"name": "@", "ttl": domain.default_ttl}),
            "can_add": may(user, ADD, organisation_id=domain.organisation_id),
            "can_change": may(user, CHANGE, organisation_id=domain.organisation_id),
            "can_delete": may(user, DELETE, organisation_id=domain.organisation_id)}


def zone_context(request, domain, **extra):
    user = request.user
    return {**records_context(request, domain),
            "sync": zone_status(user, domain), "soa": selectors.soa_of(domain),
            "nameservers": selectors.nameservers(),
            "settings_form": DomainSettingsForm(initial={"uses_our_dns": domain.uses_our_dns,
                                                         "default_ttl": domain.default_ttl}),
            "mail_services": list(domain.mail_services.order_by("domain")),
            "synonyms": list(domain.synonyms.order_by("name")),
            "synonym_form": synonym_form(request, domain),
            "synonym_refusals": synonym_refusals(request, domain),
            **extra}


def synonym_refusals(request, domain) -> list[tuple[Domain, str]]:
    """The organisation's other domains that cannot become synonyms of this one, each
    with the reason, so the page tells before the owner tries."""
    if domain.synonym_of_id is not None or not may(request.user, CHANGE,
                                                   organisation_id=domain.organisation_id):
        return []
    candidates = (Domain.objects.restrict(request.user, "view")
                  .filter(organisation_id=domain.organisation_id)
                  .exclude(pk=domain.pk).exclude(synonym_of=domain).order_by("name")[:100])
    found = []
    for candidate in candidates:
        problem = services.synonyms.refusal(domain, candidate)
        if problem is not None:
            found.append((candidate, problem.message))
    return found


def synonym_form(request, domain, data=None) -> SynonymAddForm:
    return SynonymAddForm(data, main=domain,
                          queryset=Domain.objects.restrict(request.user, "view"))


class RecordsView(DomainMixin, RestrictedView):
    """The records table (filters answer the table alone to htmx) and the add form."""

    model = Domain
    partial = "dnszones/_record_table.html"

    def get(self, request, pk):
        domain = self.get_domain(pk)
        return htmx_render(request, "dnszones/domain_detail.html",
                           zone_context(request, domain) if not request.htmx else
                           records_context(request, domain), self.partial)

    def post(self, request, pk):
        domain = self.get_domain(pk)
        form = RecordForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                services.record_create(actor=request.user, domain=domain, **form.cleaned_data)
            except ServiceError as exc:
                status = refuse(request, exc, form)
            else:
                if request.htmx:
                    return render(request, "dnszones/_records.html",
                                  records_context(request, domain, query={}))
                messages.success(request, _("Record added."))
                return done(request, reverse("dnszones:domain_detail", args=[domain.pk]))
        if request.htmx:
            # htmx swaps 2xx answers only: the form comes back with its errors as a 200.
            return render(request, "dnszones/_records.html",
                          records_context(request, domain, form=form, query={}))
        return render(request, "dnszones/domain_detail.html",
                      zone_context(request, domain, record_form=form), status=status)


def refuse(request, error: ServiceError, form) -> int:
    """The refusal on the form's fields; for a full page also as a message (an htmx
    fragment shows it on the fields, a message would only appear on the next page)."""
    if request.htmx:
        add_service_errors(form, error)
        return error.status
    return refused(request, error, form)


class RecordMixin(DomainMixin):
    def get_record(self, pk, record_pk, action=VIEW) -> Record:
        domain = self.get_domain(pk, action)
        record = get_object_or_404(Record.objects.filter(domain=domain), pk=record_pk)
        record.domain = domain
        return record


class RecordEditView(RecordMixin, RestrictedView):
    """Inline edit: htmx swaps the row for its form and back; without htmx, a page."""

    model = Domain
    template = "dnszones/record_form.html"

    def form_for(self, record, data=None):
        return RecordForm(data, prefix_id=f"edit-record-{record.pk}", initial={
            "name": record.name, "type": record.type, "ttl": record.ttl,
            "value": record.shown_value})

    def answer(self, request, record, form, status=200):
        context = {"domain": record.domain, "record": record, "form": form,
                   "can_change": True, "can_delete": may(request.user, DELETE, record.domain)}
        if request.htmx:
            return render(request, "dnszones/_record_row_form.html", context)
        return render(request, self.template, context, status=status)

    def get(self, request, pk, record_pk):
        record = self.get_record(pk, record_pk, CHANGE)
        return self.answer(request, record, self.form_for(record))

    def post(self, request, pk, record_pk):
        record = self.get_record(pk, record_pk, CHANGE)
        form = self.form_for(record, request.POST)
        if not form.is_valid():
            return self.answer(request, record, form, status=400)
        try:
            record = services.record_update(actor=request.user, record=record, **form.cleaned_data)
        except ServiceError as exc:
            return self.answer(request, record, form, status=refuse(request, exc, form))
        if request.htmx:
            return render(request, "dnszones/_record_row.html", {
                "domain": record.domain, "record": record, "can_change": True,
                "can_delete": may(request.user, DELETE, record.domain)})
        messages.success(request, _("Record saved."))
        return done(request, reverse("dnszones:domain_detail", args=[record.domain.pk]))


class RecordRowView(RecordMixin, RestrictedView):
    """The row as shown (the edit form's "Cancel")."""

    model = Domain

    def get(self, request, pk, record_pk):
        record = self.get_record(pk, record_pk)
        user = request.user
        return render(request, "dnszones/_record_row.html", {
            "domain": record.domain, "record": record,
            "can_change": may(user, CHANGE, record.domain),
            "can_delete": may(user, DELETE, record.domain)})


class RecordDeleteView(RecordMixin, RestrictedView):
    model = Domain

    def post(self, request, pk, record_pk):
        record = self.get_record(pk, record_pk, DELETE)
        domain = record.domain
        try:
            services.record_delete(actor=request.user, record=record)
        except ServiceError as exc:
            refused(request, exc)
            return done(request, reverse("dnszones:domain_detail", args=[domain.pk]))
        if request.htmx:
            return HttpResponse("")  # the row goes away
        messages.success(request, _("Record deleted."))
        return done(request, reverse("dnszones:domain_detail", args=[domain.pk]))


class ZoneExportView(DomainMixin, RestrictedView):
    model = Domain

    def get(self, request, pk):
        domain = self.get_domain(pk)
        return attachment_response(selectors.zone_file(domain), f"{domain.name}.zone",
                                   content_type="text/dns; charset=utf-8")


class ZoneImportView(DomainMixin, RestrictedView):
    """Paste or upload → preview (what will be added, removed, changed) → apply."""

    model = Domain
    template = "dnszones/zone_import.html"

    def get(self, request, pk):
        domain = self.get_domain(pk, CHANGE)
        return render(request, self.template, {"domain": domain, "form": ZoneImportForm()})

    def post(self, request, pk):
        domain = self.get_domain(pk, CHANGE)
        form = ZoneImportForm(request.POST, request.FILES)
        context = {"domain": domain, "form": form}
        if not form.is_valid():
            return render(request, self.template, context, status=400)
        apply = request.POST.get("operation") == "apply"
        text = form.cleaned_data["zone_file"]
        try:
            result = services.zone_import(actor=request.user, domain=domain, text=text,
                                          dry_run=not apply)
        except ServiceError as exc:
            form.errors.pop("zone_file", None)
            for line in exc.fields.get("zone_file", []):
                form.add_error("zone_file", line)
            messages.error(request, exc.message.split(" Line ")[0])
            return render(request, self.template, context, status=exc.status)
        if apply:
            messages.success(request, _("Zone file imported: %(added)d added, %(removed)d "
                                        "removed, %(changed)d changed.") % {
                "added": len(result.changes.added), "removed": len(result.changes.removed),
                "changed": len(result.changes.changed)})
            return done(request, reverse("dnszones:domain_detail", args=[domain.pk]))
        return render(request, self.template, {
            **context, "preview": result, "form": ZoneImportForm(initial={"zone_file": text})})


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


urlpatterns = [
    path("", DomainListView.as_view(), name="index"),
    path("domains/<int:pk>/", DomainDetailView.as_view(), name="domain_detail"),
    path("domains/<int:pk>/records/", RecordsView.as_view(), name="records"),
    path("domains/<int:pk>/records/<int:record_pk>/", RecordRowView.as_view(), name="record_row"),
    path("domains/<int:pk>/records/<int:record_pk>/edit/", RecordEditView.as_view(), name="record_edit"),
    path("domains/<int:pk>/records/<int:record_pk>/delete/", RecordDeleteView.as_view(),
         name="record_delete"),
    path("domains/<int:pk>/zone-file/", ZoneExportView.as_view(), name="zone_export"),
    path("domains/<int:pk>/zone-file/import/", ZoneImportView.as_view(), name="zone_import"),
    path("domains/<int:pk>/status/", ZoneStatusView.as_view(), name="zone_status"),
    path("domains/<int:pk>/check/", ExternalCheckView.as_view(), name="external_check"),
]


# --- the SPF doctor ---------------------------------------------------------------------------

class SpfActionForm(forms.Form):
    """One SPF action of the page; `operation` preview (nothing saved) or apply."""

    action = forms.ChoiceField(choices=[(a, a) for a in spf_services.ACTIONS])
    operation = forms.ChoiceField(choices=[("preview", "preview"), ("apply", "apply")])
    qualifier = forms.ChoiceField(choices=[("-all", "-all"), ("~all", "~all"), ("?all", "?all")],
                                  required=False)
    records = forms.CharField(required=False, max_length=20000)
    enabled = forms.ChoiceField(choices=[("on", "on"), ("off", "off")], required=False)

    def record_list(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["records"].splitlines() if line.strip()]


def spf_qualifiers():
    return [(f"{q}all", _(spf_terms.QUALIFIER_NAME[q]), _(spf_terms.QUALIFIER_MEANING[q]))
            for q in ("-", "~", "?")]


class SpfView(DomainMixin, RestrictedView):
    """The SPF doctor of a domain: the published record's lookups as a tree with each term
    explained, its errors and warnings; the qualifier switch, the merge form and the
    flatten toggle, each previewed (zone change, lookups before → after) before it is
    applied."""

    model = Domain
    template = "dnszones/spf.html"

    def context(self, domain, **extra):
        report = spf_services.report_data(spf_services.spf_report(domain))
        zone_records = spf_services.zone_spf_records(domain)
        current = zone_records[0].shown_value if zone_records else ""
        all_term = spf_terms.parse(current).all_term if current else None
        return {"domain": domain, "report": report, "limit": spf_terms.LOOKUP_LIMIT,
                "zone_records": [r.shown_value for r in zone_records],
                "flattening": SpfFlattening.objects.filter(domain=domain).first(),
                "qualifiers": spf_qualifiers(),
                "current_qualifier": f"{all_term.qualifier}all" if all_term else "",
                "can_change": may(self.request.user, CHANGE, organisation_id=domain.organisation_id),
                **extra}

    def get(self, request, pk):
        domain = self.get_domain(pk)
        response = render(request, self.template, self.context(domain))
        add_never_cache_headers(response)
        return response

    def post(self, request, pk):
        domain = self.get_domain(pk, CHANGE)
        form = SpfActionForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Choose what to change."))
            return render(request, self.template, self.context(domain), status=400)
        data = form.cleaned_data
        dry_run = data["operation"] != "apply"
        try:
            if data["action"] == "qualifier":
                change = spf_services.spf_set_qualifier(actor=request.user, domain=domain,
                                                        qualifier=data["qualifier"], dry_run=dry_run)
            elif data["action"] == "merge":
                change = spf_services.spf_merge(actor=request.user, domain=domain,
                                                records=form.record_list(), dry_run=dry_run)
            else:
                change = spf_services.spf_flatten(actor=request.user, domain=domain,
                                                  enabled=data["enabled"] != "off", dry_run=dry_run)
        except ServiceError as exc:
            status = refused(request, exc)
            return render(request, self.template, self.context(domain, posted=data), status=status)
        if dry_run:
            return render(request, self.template, self.context(domain, preview=change, posted=data))
        messages.success(request, _("The SPF record is changed: %(before)d → %(after)d DNS "
                                    "lookups.") % {"before": change.lookups_before,
                                                   "after": change.lookups_after})
        return done(request, reverse("dnszones:spf", args=[domain.pk]))


urlpatterns += [path("domains/<int:pk>/spf/", SpfView.as_view(), name="spf")]


# --- the security check -----------------------------------------------------------------------

SEVERITY_BADGES = {"ok": "applied", "info": "", "warning": "pending", "error": "failed"}


def severity_label(severity: str) -> str:
    return {"ok": _("No problem"), "info": _("Information"), "warning": _("Warning"),
            "error": _("Problem")}[severity]


class SecurityCheckView(DomainMixin, RestrictedView):
    """The security check section of the domain page (loaded by htmx from the cache, the
    check is run when there is none): each finding with its severity, explanation and fix
    — a button for our zones, the record to create for a zone served elsewhere. POST
    `refresh` checks again; `fix` applies a finding's fix through the record service."""

    model = Domain
    template = "dnszones/_security_check.html"

    def context(self, domain, *, refresh=False):
        data = security_services.check_data(
            security_services.security_check(domain, refresh=refresh))
        for finding in data["findings"]:
            finding["badge"] = SEVERITY_BADGES[finding["severity"]]
            finding["label"] = severity_label(finding["severity"])
        return {"domain": domain, "check": data, "badge": SEVERITY_BADGES[data["worst"]],
                "worst_label": severity_label(data["worst"]),
                "can_change": may(self.request.user, CHANGE, organisation_id=domain.organisation_id)}

    def get(self, request, pk):
        response = render(request, self.template, self.context(self.get_domain(pk)))
        add_never_cache_headers(response)
        return response

    def post(self, request, pk):
        domain = self.get_domain(pk)
        back = reverse("dnszones:domain_detail", args=[domain.pk]) + "#security-check"
        if request.POST.get("operation") == "fix":
            domain = self.get_domain(pk, CHANGE)
            try:
                record = security_services.apply_fix(actor=request.user, domain=domain,
                                                     code=request.POST.get("code", ""),
                                                     name=request.POST.get("name") or None)
            except ServiceError as exc:
                refused(request, exc)
                return done(request, back)
            messages.success(request, _("The zone is changed at %(name)s: the finding disappears "
                                        "at the next check, once the DNS serves the change.")
                             % {"name": record.fqdn})
        else:
            security_services.security_check(domain, refresh=True)
            messages.success(request, _("The security check is done again."))
        return done(request, back)


urlpatterns += [path("domains/<int:pk>/security-check/", SecurityCheckView.as_view(),
                     name="security_check")]

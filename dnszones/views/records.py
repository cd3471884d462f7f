"""A zone's records: the table with its filters, inline add, edit and delete through htmx."""
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _

from manager.accounts.roles import CHANGE, DELETE, VIEW
from manager.core.errors import ServiceError
from manager.core.permissions import may
from manager.core.views import (
    RestrictedView,
    add_service_errors,
    done,
    htmx_render,
    refused,
)

from .. import services
from ..forms import (
    RecordForm,
)
from ..models import Domain, Record
from .domain_scope import DomainMixin
from .zone_page import records_context, zone_context


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

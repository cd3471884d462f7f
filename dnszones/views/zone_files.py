"""Zone-file export, and import with a preview."""
from django.contrib import messages
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from manager.accounts.roles import CHANGE
from manager.core.errors import ServiceError
from manager.core.views import (
    RestrictedView,
    attachment_response,
    done,
)

from .. import selectors, services
from ..forms import (
    ZoneImportForm,
)
from ..models import Domain
from .domain_scope import DomainMixin


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

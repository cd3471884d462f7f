"""The SPF doctor page of a domain."""
from django import forms
from django.contrib import messages
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from manager.accounts.roles import CHANGE
from manager.core.errors import ServiceError
from manager.core.permissions import may
from manager.core.views import (
    RestrictedView,
    done,
    refused,
)

from ..models import Domain, SpfFlattening
from ..services import spf as spf_services
from ..spf import terms as spf_terms
from .domain_scope import DomainMixin


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

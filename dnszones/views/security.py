"""The security check section of the domain page."""
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

from ..models import Domain
from ..services import security as security_services
from .domain_scope import DomainMixin

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

"""`security/organisations/<id>/`: the bans affecting an organisation and its allow-list
(owners and administrators)."""
from django.contrib import messages
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _

from manager.accounts.models import Organisation
from manager.accounts.roles import CHANGE
from manager.core.errors import ServiceError
from manager.core.views import RestrictedView, done, refused

from . import services
from .models import AllowedNetwork, Ban


class SecurityView(RestrictedView):
    model = Organisation
    template = "security/security.html"

    def context(self, organisation, **extra):
        return {
            "organisation": organisation,
            "bans": services.bans_affecting(organisation),
            "allowed": AllowedNetwork.objects.filter(organisation=organisation).select_related("accepted_by"),
            "warning": services.allow_warning(),
            "warning_version": services.ALLOW_WARNING_VERSION,
            **extra,
        }

    def get(self, request, pk):
        organisation = self.get_restricted(CHANGE, pk=pk)
        return render(request, self.template, self.context(organisation))

    def post(self, request, pk):
        organisation = self.get_restricted(CHANGE, pk=pk)
        url = reverse("security:organisation", args=[organisation.pk])
        operation = request.POST.get("operation")
        try:
            if operation == "lift":
                ban = get_object_or_404(Ban, pk=request.POST.get("ban"), lifted_at__isnull=True)
                services.ban_lift(actor=request.user, organisation=organisation, ban=ban)
                messages.success(request, _("Ban of %(what)s lifted.") % {"what": ban})
            elif operation == "allow":
                accepted = request.POST.get("accept_warning") == "yes"
                allowed = services.allowed_network_add(
                    actor=request.user, organisation=organisation,
                    network=request.POST.get("network", ""), label=request.POST.get("label", ""),
                    accepted_warning_version=(int(request.POST.get("warning_version") or 0)
                                              if accepted else None))
                messages.success(request, _("%(network)s is allowed.") % {"network": allowed.network})
            elif operation == "disallow":
                allowed = get_object_or_404(AllowedNetwork, organisation=organisation,
                                            pk=request.POST.get("allowed"))
                services.allowed_network_remove(actor=request.user, allowed=allowed)
                messages.success(request, _("%(network)s is no longer allowed.") % {"network": allowed.network})
            else:
                messages.error(request, _("Unknown operation."))
                return render(request, self.template, self.context(organisation), status=400)
        except (ServiceError, ValueError) as exc:
            if isinstance(exc, ValueError):
                exc = ServiceError(_("Unknown operation."), code="invalid")
            status = refused(request, exc)
            return render(request, self.template, self.context(organisation), status=status)
        return done(request, url)

"""UI base views and htmx helpers shared by every app."""
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from .errors import ServiceError
from .permissions import may


def htmx_render(request, template, context, partial=None):
    """The partial for htmx requests, the full page otherwise (NetBox's htmx_partial)."""
    if partial and getattr(request, "htmx", False) and not request.htmx.boosted:
        return render(request, partial, context)
    return render(request, template, context)


def done(request, url):
    """After a successful POST: HX-Location for htmx, a redirect otherwise."""
    if getattr(request, "htmx", False):
        response = HttpResponse(status=204)
        response["HX-Location"] = url
        return response
    return redirect(url)


def service_error_message(request, error: ServiceError):
    messages.error(request, error.message)


class RestrictedView(LoginRequiredMixin, View):
    """Looks objects up through the permission gate: another organisation's object is a
    404; a visible object whose write the role does not allow is a 403."""

    model = None

    def get_restricted(self, action="view", **lookup):
        return get_object_or_404(self.model.objects.restrict(self.request.user, "view"), **lookup)

    def require(self, action, obj=None, *, organisation_id=None):
        if not may(self.request.user, action, obj, organisation_id=organisation_id):
            raise PermissionDenied("Your role does not allow this action.")


class HomeView(LoginRequiredMixin, View):
    def get(self, request):
        return render(request, "core/home.html", {})

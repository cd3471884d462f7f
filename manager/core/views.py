"""UI base views and htmx helpers shared by every app: the gate for pages, htmx answers,
refused changes as messages, downloads and the backend status of a pushed unit."""
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from .errors import ServiceError
from .models import SyncStatus
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


def add_service_errors(form, error: ServiceError) -> None:
    """Put a ServiceError's field errors on the form fields they name (the rest on top)."""
    for field, field_messages in error.fields.items():
        for message in field_messages:
            form.add_error(field if field in form.fields else None, message)


def refused(request, error: ServiceError, form=None) -> int:
    """Show a refused change as a message (and on the form's fields); returns the HTTP
    status of the re-rendered page: the service's, except that a page re-rendered after a
    missing related object is a 400, not a 404."""
    messages.error(request, error.message)
    if form is not None:
        add_service_errors(form, error)
    return 400 if error.status == 404 else error.status


def attachment_response(content, filename: str, *, content_type: str) -> HttpResponse:
    """A download; quotes and line breaks are dropped from the file name (header safety)."""
    safe = "".join(ch for ch in filename if ch not in '"\\\r\n')
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{safe}"'
    return response


@dataclass(frozen=True)
class SyncState:
    """What a page shows about a pushed unit: applied / pending / failed, and the error."""

    status: str
    label: str
    error: str = ""
    applied_at: object = None


def sync_state(job) -> SyncState:
    """The page's view of a PushJob (None: nothing was ever pushed for the unit)."""
    if job is None:
        return SyncState(SyncStatus.PENDING, SyncStatus.PENDING.label)
    status = SyncStatus(job.sync_status)
    return SyncState(status.value, status.label, job.last_error if status == SyncStatus.FAILED else "",
                     job.last_applied_at)


class RestrictedView(LoginRequiredMixin, View):
    """Looks objects up through the permission gate: another organisation's object is a
    404; a visible object whose write the role does not allow is a 403."""

    model = None

    def restricted_queryset(self):
        """What the lookup starts from (subclasses add select_related)."""
        return self.model.objects.all()

    def get_restricted(self, action="view", **lookup):
        """The object if the user may see it (else 404), and may do `action` on it (else 403)."""
        obj = get_object_or_404(self.restricted_queryset().restrict(self.request.user, "view"),
                                **lookup)
        if action != "view":
            self.require(action, obj)
        return obj

    def require(self, action, obj=None, *, organisation_id=None):
        if not may(self.request.user, action, obj, organisation_id=organisation_id):
            raise PermissionDenied("Your role does not allow this action.")


class HomeView(LoginRequiredMixin, View):
    """The dashboard, unless an app has a better home for this person (e.g. "My mail"
    for someone who only uses addresses): each app may offer `home.home_url(request)`."""

    def get(self, request):
        from .discovery import app_modules

        for home in app_modules("home", needs="home_url"):
            url = home.home_url(request)
            if url:
                return redirect(url)
        return render(request, "core/home.html", {})

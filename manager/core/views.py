"""UI base views and htmx helpers shared by every app: the gate for pages, htmx answers,
refused changes as messages, downloads and the backend status of a pushed unit."""
import logging
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language, gettext
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



# --- Error pages -------------------------------------------------------------------------
# The product's own 400/403/404/500 pages, in the shell. Paths under /api/ keep the API's
# one error shape: DRF views answer it themselves; these handlers cover what Django answers
# outside them (an unknown /api/ URL, an exception an endpoint did not handle).

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
ERROR_CODES = {400: "bad_request", 403: "permission_denied", 404: "not_found", 500: "server_error"}
MINIMAL_PAGE = ('<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
                '<meta name="viewport" content="width=device-width, initial-scale=1">'
                "<title>{title} · Mail Manager</title></head><body><main>"
                '<h1>{title}</h1><p>{text}</p><p><a href="/">{home}</a></p></main></body></html>')


def error_title(status) -> str:
    return {400: gettext("Bad request"), 403: gettext("Access refused"),
            404: gettext("Page not found"), 500: gettext("Server error")}[status]


def error_message(status, exception=None) -> str:
    """What the page says: a refusal's own message (403; run through the catalogue, as
    some are raised in English), a fixed text otherwise (a 404 message names models, a 400
    or 500 message may hold internals)."""
    if status == 403 and exception is not None and exception.args and str(exception.args[0]):
        return gettext(str(exception.args[0]))
    return {
        400: gettext("The request could not be understood."),
        403: gettext("You may not do this."),
        404: gettext("This page does not exist, or you may not see it."),
        500: gettext("Something went wrong on our side. The error is logged; please try again later."),
    }[status]


def back_url(request) -> str:
    """The previous page when it is one of ours (same host), else nothing."""
    referer = request.META.get("HTTP_REFERER", "")
    try:
        ours = url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure())
    except Exception:  # a bad Host header: no back link rather than another error
        return ""
    return referer if ours else ""


def minimal_error_page(status) -> HttpResponse:
    """Needs neither the database nor the template engine."""
    return HttpResponse(MINIMAL_PAGE.format(
        lang=escape(get_language() or "en"), title=escape(error_title(status)),
        text=escape(error_message(status)), home=escape(gettext("Back to the home page"))),
        status=status)


def error_page(request, status, exception=None) -> HttpResponse:
    """One HTTP error: the JSON error shape under /api/, the page in the shell otherwise.
    If the page cannot be rendered with the request (database down, a failing context
    processor), the shell is rendered without it (no user chrome); failing that, a
    minimal page."""
    message = error_message(status, exception)
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"error": {"code": ERROR_CODES[status], "message": message,
                                       "fields": {}}}, status=status)
    template = f"{status}.html"
    context = {"status": status, "title": error_title(status), "message": message}
    try:
        return HttpResponse(loader.render_to_string(
            template, {**context, "back_url": back_url(request)}, request), status=status)
    except Exception:
        logger.exception("The %s page could not be rendered with the request", status)
    try:
        return HttpResponse(loader.render_to_string(template, context), status=status)
    except Exception:
        logger.exception("The %s page could not be rendered", status)
    return minimal_error_page(status)


def bad_request(request, exception):
    return error_page(request, 400, exception)


def permission_denied(request, exception):
    return error_page(request, 403, exception)


def csrf_failure(request, reason=""):
    """A refused CSRF check (CSRF_FAILURE_VIEW): under /api/ in the one error shape — a
    POST to an unknown API URL is refused by the middleware before any API view runs —
    and Django's own page elsewhere."""
    if request.path.startswith(API_PREFIX):
        return error_page(request, 403)
    from django.views.csrf import csrf_failure as django_csrf_failure

    return django_csrf_failure(request, reason)


def page_not_found(request, exception):
    return error_page(request, 404, exception)


def server_error(request):
    try:
        return error_page(request, 500)
    except Exception:  # even the request itself is unusable
        return minimal_error_page(500)

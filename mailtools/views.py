"""Pages of the mail tools: the header viewer (`tools/header-analysis/`) and phishing
reports (`tools/phishing-reports/`)."""
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views import View

from manager.core.errors import ServiceError
from manager.core.views import done, htmx_render, refused

from . import selectors, services
from .forms import MessageForm
from .headers import header_block
from .limits import REPORTED_MESSAGE_BYTES

app_name = "mailtools"
url_prefix = "tools/"


class HeaderAnalysisView(LoginRequiredMixin, View):
    """Paste headers or upload an .eml; htmx swaps the analysis in under the form (which
    keeps the chosen file, so "Report phishing" sends the same message)."""

    template = "mailtools/header_analysis.html"
    partial = "mailtools/_header_analysis.html"

    def get(self, request):
        return render(request, self.template, {"form": MessageForm()})

    def post(self, request):
        form = MessageForm(request.POST, request.FILES)
        raw = form.message_bytes() if form.is_valid() else None
        context = {"form": form}
        if raw is None:
            return _answer(request, self.template, self.partial, context, status=400)
        context["analysis"] = services.analyse_message(raw, zone_name=form.cleaned_data.get("time_zone"))
        context["rule_headers"] = header_block(raw).decode("utf-8", "replace")
        context["rule_addresses"] = selectors.rule_addresses(request.user)
        return _answer(request, self.template, self.partial, context)


def _answer(request, template, partial, context, status=200):
    """The page (400 when refused), or for htmx the partial: htmx swaps only 2xx answers,
    and the partial carries the form's errors."""
    response = htmx_render(request, template, context, partial)
    if not getattr(request, "htmx", False):
        response.status_code = status
    return response


class RuleFromAnalysisView(LoginRequiredMixin, View):
    """"Create a rule from this e-mail": the sorting rules' own flow (the rule form filled
    from the message) for the address chosen, with the analysed headers."""

    def post(self, request):
        from mailservice.views.rules import RuleFromMessageView

        try:
            pk = int(request.POST.get("address", ""))
        except ValueError:
            raise Http404 from None
        return RuleFromMessageView.as_view()(request, pk=pk)


class PhishingReportListView(LoginRequiredMixin, View):
    """The reports the person may see, with their state; a new report from an upload
    (the header viewer's and the rule tester's "Report phishing" buttons post here)."""

    template = "mailtools/phishing_reports.html"
    partial = "mailtools/_phishing_report_rows.html"

    def context(self, form=None):
        reports = list(selectors.reports_for(self.request.user)[:200])
        return {"reports": reports, "form": form or MessageForm(),
                # The list asks again while a report waits for the worker.
                "polling": any(r.state == "queued" for r in reports)}

    def get(self, request):
        return htmx_render(request, self.template, self.context(), self.partial)

    def post(self, request):
        form = MessageForm(request.POST, request.FILES)
        raw = form.message_bytes(limit=REPORTED_MESSAGE_BYTES) if form.is_valid() else None
        if raw is None:
            return render(request, self.template, self.context(form), status=400)
        organisation = request.organisation
        if organisation is None:
            raise Http404
        try:
            report = services.phishing_report_create(actor=request.user, organisation=organisation,
                                                     original=raw)
        except ServiceError as exc:
            status = refused(request, exc, form)
            return render(request, self.template, self.context(form), status=status)
        messages.success(request, _("Thank you: the message is reported (SHA-256 %(sha)s).")
                         % {"sha": report.sha256})
        return done(request, reverse("mailtools:phishing_reports"))


class PhishingReportResendView(LoginRequiredMixin, View):
    """"Send again" on a failed report: queued for the worker, back to the list."""

    def post(self, request, pk):
        report = get_object_or_404(selectors.reports_for(request.user), pk=pk)
        try:
            services.phishing_report_resend(actor=request.user, report=report)
        except ServiceError as exc:
            refused(request, exc)
        else:
            messages.success(request, _("The report is queued to be sent again."))
        return done(request, reverse("mailtools:phishing_reports"))


urlpatterns = [
    path("header-analysis/", HeaderAnalysisView.as_view(), name="header_analysis"),
    path("header-analysis/rule/", RuleFromAnalysisView.as_view(), name="header_analysis_rule"),
    path("phishing-reports/", PhishingReportListView.as_view(), name="phishing_reports"),
    path("phishing-reports/<int:pk>/resend/", PhishingReportResendView.as_view(),
         name="phishing_report_resend"),
]

"""The mail service page's DNS part: its records (installed, or to create at an external DNS
host, with the check) and its DKIM keys with "Rotate key"."""
from django.contrib import messages
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from manager.accounts.roles import CHANGE
from manager.core.errors import ServiceError
from manager.core.views import RestrictedView, done, refused

from .. import services
from ..models import MailService
from ..selectors import mail_dns


class MailDnsView(RestrictedView):
    """The records table; `?check=1` looks up an external domain's records (htmx)."""

    model = MailService

    def get(self, request, pk):
        service = self.get_restricted(pk=pk)
        check = request.GET.get("check") == "1"
        response = render(request, "mailservice/_mail_dns.html",
                          {"service": service, "dns": mail_dns(service, check=check),
                           "checked": check})
        add_never_cache_headers(response)
        return response


class DkimRotateView(RestrictedView):
    model = MailService

    def post(self, request, pk):
        service = self.get_restricted(CHANGE, pk=pk)
        try:
            key = services.dkim_rotate(actor=request.user, service=service)
        except ServiceError as exc:
            refused(request, exc)
        else:
            messages.success(request, _("A new DKIM key (selector %(selector)s) is published; "
                                        "mail is signed with it once its record is served "
                                        "everywhere.") % {"selector": key.selector})
        return done(request, reverse("mailservice:service_detail", args=[service.pk]) + "#dns")


urlpatterns = [
    path("mail/services/<int:pk>/dns/", MailDnsView.as_view(), name="service_dns"),
    path("mail/services/<int:pk>/dkim/rotate/", DkimRotateView.as_view(), name="dkim_rotate"),
]

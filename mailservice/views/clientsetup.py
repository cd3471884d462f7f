"""Client setup pages (settings table, downloads, connectivity check) and the public
well-known URLs that mail clients call by themselves (Thunderbird autoconfig, Outlook
autodiscover). The mail URLs are included at the site root, so paths are written in full."""
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import DisallowedHost, PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseNotFound
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from manager.core.views import RestrictedView, htmx_render

from .. import clientsetup, connectivity, permissions, selectors
from ..models import Address, MailService

XML_TYPE = "application/xml; charset=utf-8"


def _served_service(email_or_domain: str) -> MailService | None:
    domain = email_or_domain.rpartition("@")[2].strip().lower().rstrip(".")
    if not domain or len(domain) > 253:
        return None
    return MailService.objects.filter(domain=domain).first()


class ClientSetupMixin(RestrictedView):
    """The address through the gate (404), then "read" or "send" (403)."""

    model = Address

    def get_address(self, pk) -> Address:
        address = selectors.address_for(self.request.user, pk)
        if not permissions.may_any(self.request.user, address, permissions.CLIENT_SETUP):
            raise PermissionDenied(permissions.permission_message(permissions.CLIENT_SETUP))
        return address


class ClientSetupView(ClientSetupMixin):
    """The settings to type into a mail client, and the one-step downloads."""

    def get(self, request, pk):
        address = self.get_address(pk)
        settings_ = clientsetup.for_address(address)
        return htmx_render(request, "mailservice/clientsetup_address.html", {
            "address": address,
            "client": settings_,
            "autoconfig_url": reverse("mailservice:autoconfig") + "?"
            + urlencode({"emailaddress": address.email}),
        })


class ClientSetupMobileconfigView(ClientSetupMixin):
    def get(self, request, pk):
        address = self.get_address(pk)
        return HttpResponse(
            clientsetup.render_mobileconfig(clientsetup.for_address(address)),
            content_type=clientsetup.MOBILECONFIG_TYPE,
            headers={"Content-Disposition": clientsetup.attachment(
                clientsetup.mobileconfig_filename(address.email))})


class ConnectivityForm(forms.Form):
    mail_service = forms.ModelChoiceField(
        queryset=MailService.objects.none(), required=False, label=_("Mail service"),
        empty_label=_("Default mail hosts"),
        help_text=_("The hosts that serve this mail service are tested."))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mail_service"].queryset = MailService.objects.restrict(user, "view")


class ConnectivityView(LoginRequiredMixin, View):
    """Like `telnet host 587` from the guide, from the panel: only the configured mail
    hosts are tested, never a host typed by a user."""

    template = "mailservice/connectivity.html"
    partial = "mailservice/_connectivity_result.html"

    def get(self, request):
        form = ConnectivityForm(user=request.user,
                                initial={"mail_service": request.GET.get("mail_service")})
        return htmx_render(request, self.template, {"form": form})

    def post(self, request):
        form = ConnectivityForm(request.POST, user=request.user)
        if not form.is_valid():
            return self._render(request, form, None, status=400)
        service = form.cleaned_data["mail_service"]
        report = connectivity.check_configured_hosts(service.backend_host if service else None)
        return self._render(request, form, {"service": service, **report})

    def _render(self, request, form, report, status=200):
        response = htmx_render(request, self.template, {"form": form, "report": report},
                               partial=self.partial)
        response.status_code = status
        return response


@require_GET
def autoconfig(request):
    """Thunderbird autoconfig (clientConfig v1.1). Public: clients call it before any login.
    Answers for any address of a served domain, so it reveals nothing about addresses."""
    email = request.GET.get("emailaddress", "")
    if not email:
        # autoconfig.<domain>/mail/config-v1.1.xml without the parameter: use the host.
        try:
            host = request.get_host().partition(":")[0]
        except DisallowedHost:
            return HttpResponseBadRequest("Unknown host.")
        if not host.startswith("autoconfig."):
            return HttpResponseBadRequest("Give ?emailaddress=.")
        email = host.removeprefix("autoconfig.")
    service = _served_service(email)
    if service is None:
        return HttpResponseNotFound("No mail service for this domain.", content_type="text/plain")
    hosts = clientsetup.HostSettings.from_django_settings(service.backend_host)
    return HttpResponse(clientsetup.render_autoconfig(service.domain, hosts), content_type=XML_TYPE)


@csrf_exempt
@require_POST
def autodiscover(request):
    """Outlook POX autodiscover. Public and CSRF-exempt (Outlook posts without a session);
    a DTD or entity in the request is refused before parsing."""
    try:
        email = clientsetup.parse_autodiscover_request(request.body)
    except clientsetup.AutodiscoverRequestError as exc:
        return HttpResponse(clientsetup.render_autodiscover_error(str(exc)), status=400,
                            content_type=XML_TYPE)
    service = _served_service(email)
    if service is None:
        return HttpResponseNotFound("No mail service for this domain.", content_type="text/plain")
    hosts = clientsetup.HostSettings.from_django_settings(service.backend_host)
    # The display name is the address itself: the answer must not tell whether it exists.
    settings_ = clientsetup.client_settings(email, email, hosts)
    return HttpResponse(clientsetup.render_autodiscover(settings_), content_type=XML_TYPE)


urlpatterns = [
    path("mail/addresses/<int:pk>/setup/", ClientSetupView.as_view(), name="client_setup"),
    path("mail/addresses/<int:pk>/setup/mobileconfig/", ClientSetupMobileconfigView.as_view(),
         name="client_setup_mobileconfig"),
    path("mail/tools/connectivity/", ConnectivityView.as_view(), name="connectivity"),
    path(".well-known/autoconfig/mail/config-v1.1.xml", autoconfig, name="autoconfig"),
    path("mail/config-v1.1.xml", autoconfig, name="autoconfig_host"),
    path("autodiscover/autodiscover.xml", autodiscover, name="autodiscover"),
    path("Autodiscover/Autodiscover.xml", autodiscover, name="autodiscover_outlook"),
]

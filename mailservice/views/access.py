"""Users of an address (grants, invitations) and device passwords."""
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from manager.core.errors import ServiceError
from manager.core.views import RestrictedView, done, htmx_render, refused

from .. import services
from ..forms import (
    AccessGrantForm,
    AccessPermissionsForm,
    DevicePasswordForm,
    InvitationForm,
    organisation_members,
)
from ..models import Address, AddressAccess, DevicePassword, Invitation, Permission
from ..permissions import manages
from ..services import people
from .addresses import AddressMixin

MEMBER_RESULTS = 20
SHOW_ONCE = "mailservice.show_once"


def permission_labels(values):
    labels = dict(Permission.choices)
    return [labels.get(v, v) for v in values]


def show_once(request, page: str, **values) -> None:
    """Keep a one-time secret (a device password, an invitation link) in the session for
    the next display of `page` only: the POST redirects (a reload creates nothing) and the
    database keeps only a hash."""
    request.session[SHOW_ONCE] = {"page": page, **values}


def take_once(request, page: str) -> dict:
    values = request.session.get(SHOW_ONCE)
    if not values or values.get("page") != page:
        return {}
    del request.session[SHOW_ONCE]
    return values


def gate(check, user, address) -> None:
    """A page-level check of the services: a refusal is the product's 403 page."""
    try:
        check(user, address)
    except ServiceError as exc:
        raise PermissionDenied(exc.message) from exc


class AddressUsersView(AddressMixin, RestrictedView):
    """`mail/addresses/<id>/users/`: who uses the address and with which permissions."""

    model = Address
    template = "mailservice/access_list.html"
    results = "mailservice/access_member_results.html"

    def member_matches(self, address, text):
        text = (text or "").strip()
        if not text:
            return []
        already = AddressAccess.objects.filter(address=address).values("user_id")
        return list(organisation_members(address).exclude(pk__in=already)
                    .filter(Q(email__icontains=text) | Q(full_name__icontains=text))
                    .order_by("email")[:MEMBER_RESULTS])

    def context(self, address, **extra):
        accesses = list(AddressAccess.objects.filter(address=address).select_related("user")
                        .order_by("user__email"))
        for access in accesses:
            access.form = AccessPermissionsForm(initial={"permissions": access.permissions},
                                                prefix=f"access-{access.pk}")
        invitations = list(Invitation.objects.filter(address=address))
        for invitation in invitations:
            invitation.permission_labels = permission_labels(invitation.permissions)
        search = self.request.GET.get("member_search", "")
        return {
            "address": address,
            "accesses": accesses,
            "invitations": invitations,
            "member_search": search,
            "matches": self.member_matches(address, search),
            "grant_form": AccessGrantForm(address=address),
            "invite_form": InvitationForm(address=address),
            "days": settings.INVITATION_VALID_DAYS,
            **extra,
        }

    def get(self, request, pk):
        address = self.get_address(pk)
        gate(people.check_users_visible, request.user, address)
        if "member_search" in request.GET:  # htmx asks for the member search results only
            return htmx_render(request, self.template, self.context(address), partial=self.results)
        extra = {}
        once = take_once(request, request.path)
        if once:
            extra = {"new_link": once["link"], "resent": once["resent"],
                     "new_invitation": Invitation.objects.filter(address=address,
                                                                 pk=once["invitation"]).first()}
        return render(request, self.template, self.context(address, **extra))

    def post(self, request, pk):
        address = self.get_address(pk)
        if not manages(request.user, address):
            raise PermissionDenied(_("Only administrators manage the users of an address."))
        operation = request.POST.get("operation")
        url = reverse("mailservice:address_users", args=[address.pk])
        form, form_name = None, None
        try:
            if operation == "grant":
                form, form_name = AccessGrantForm(request.POST, address=address), "grant_form"
                if not form.is_valid():
                    return render(request, self.template, self.context(address, grant_form=form),
                                  status=400)
                access = services.access_grant(actor=request.user, address=address,
                                               **form.cleaned_data)
                message = _("%(email)s now uses this address.") % {"email": access.user.email}
            elif operation == "invite":
                form, form_name = InvitationForm(request.POST, address=address), "invite_form"
                if not form.is_valid():
                    return render(request, self.template, self.context(address, invite_form=form),
                                  status=400)
                invitation, raw = services.invitation_create(actor=request.user, address=address,
                                                             **form.cleaned_data)
                return self.show_link(url, invitation, raw)
            elif operation == "resend":
                invitation = get_object_or_404(Invitation, address=address,
                                               pk=request.POST.get("invitation"))
                invitation, raw = services.invitation_resend(actor=request.user, invitation=invitation)
                return self.show_link(url, invitation, raw, resent=True)
            elif operation == "revoke":
                invitation = get_object_or_404(Invitation, address=address,
                                               pk=request.POST.get("invitation"))
                services.invitation_revoke(actor=request.user, invitation=invitation)
                message = _("Invitation revoked; its link no longer works.")
            elif operation in ("update", "disconnect", "remove"):
                access = get_object_or_404(AddressAccess.objects.select_related("user", "address"),
                                           address=address, pk=request.POST.get("access"))
                email = access.user.email
                if operation == "update":
                    form = AccessPermissionsForm(request.POST, prefix=f"access-{access.pk}")
                    if not form.is_valid():
                        messages.error(request, _("Choose permissions from the list."))
                        return render(request, self.template, self.context(address), status=400)
                    services.access_update(actor=request.user, access=access,
                                           permissions=form.cleaned_data["permissions"])
                    message = _("Permissions of %(email)s saved.") % {"email": email}
                    form = None
                elif operation == "disconnect":
                    count = services.access_disconnect_devices(actor=request.user, access=access)
                    message = _("%(count)d device password(s) of %(email)s revoked; web access "
                                "stays.") % {"count": count, "email": email}
                else:
                    services.access_remove(actor=request.user, access=access)
                    message = _("%(email)s no longer has any access to this address.") % {
                        "email": email}
            else:
                messages.error(request, _("Unknown operation."))
                return render(request, self.template, self.context(address), status=400)
        except ServiceError as exc:
            status = refused(request, exc, form)
            extra = {form_name: form} if form_name else {}
            return render(request, self.template, self.context(address, **extra), status=status)
        messages.success(request, message)
        return done(request, url)

    def show_link(self, url, invitation, raw, resent=False):
        """The link is shown once, on the page the POST redirects to."""
        if invitation.last_sent:
            messages.success(self.request, _("Invitation sent to %(email)s.") % {"email": invitation.email})
        show_once(self.request, url, link=services.invitation_url(raw), invitation=invitation.pk,
                  resent=resent)
        return done(self.request, url)


class AddressDevicesView(AddressMixin, RestrictedView):
    """`mail/addresses/<id>/devices/`: device passwords. Administrators see everyone's; a
    user of the address who may read or send its mail sees their own."""

    model = Address
    template = "mailservice/devicepassword_list.html"

    def get_address(self, pk):
        address = super().get_address(pk)
        gate(people.check_device_passwords_visible, self.request.user, address)
        return address

    def devices(self, address):
        devices = DevicePassword.objects.filter(address=address).select_related("access__user")
        if not manages(self.request.user, address):
            devices = devices.filter(access__user=self.request.user)
        return devices

    def form(self, address, data=None):
        user = self.request.user
        if not manages(user, address):
            return DevicePasswordForm(data, address=address)
        others = organisation_members(address).filter(address_accesses__address=address)
        return DevicePasswordForm(data, address=address, users=others.exclude(pk=user.pk),
                                  add_me=not self.is_user(address))

    def is_user(self, address):
        return AddressAccess.objects.filter(address=address, user=self.request.user).exists()

    def context(self, address, **extra):
        devices = list(self.devices(address))
        unused = set(people.unused_devices(self.devices(address)).values_list("pk", flat=True))
        for device in devices:
            device.unused = device.pk in unused
        return {
            "address": address,
            "devices": devices,
            "unused_count": len(unused),
            "unused_days": settings.DEVICE_UNUSED_DAYS,
            "can_manage": manages(self.request.user, address),
            "form": self.form(address),
            **extra,
        }

    def get(self, request, pk):
        address = self.get_address(pk)
        extra = {}
        once = take_once(request, request.path)
        if once:
            extra = {"new_password": once["password"],
                     "new_device": self.devices(address).filter(pk=once["device"]).first()}
        return render(request, self.template, self.context(address, **extra))

    def post(self, request, pk):
        address = self.get_address(pk)
        url = reverse("mailservice:address_devices", args=[address.pk])
        operation = request.POST.get("operation")
        if operation == "revoke":
            device = get_object_or_404(self.devices(address), pk=request.POST.get("device"))
            try:
                services.device_password_revoke(actor=request.user, device=device)
            except ServiceError as exc:
                status = refused(request, exc)
                return render(request, self.template, self.context(address), status=status)
            messages.success(request, _("Password “%(name)s” revoked; that device is "
                                        "disconnected.") % {"name": device.name})
            return done(request, url)
        if operation == "revoke_unused":
            try:
                count = services.device_passwords_revoke_unused(actor=request.user, address=address)
            except ServiceError as exc:
                status = refused(request, exc)
                return render(request, self.template, self.context(address), status=status)
            messages.success(request, ngettext("%(count)d unused password revoked.",
                                               "%(count)d unused passwords revoked.", count)
                             % {"count": count})
            return done(request, url)
        if operation != "create":
            messages.error(request, _("Unknown operation."))
            return render(request, self.template, self.context(address), status=400)
        form = self.form(address, request.POST)
        if not form.is_valid():
            return render(request, self.template, self.context(address, form=form), status=400)
        data = form.cleaned_data
        add_me = form.adds_me(data)
        try:
            device, raw = services.device_password_create(
                actor=request.user, address=address, name=data["name"],
                device_type=data["device_type"], user=data.get("user"),
                add_actor_with=data["my_permissions"] if add_me else None)
        except ServiceError as exc:
            status = refused(request, exc, form)
            return render(request, self.template, self.context(address, form=form), status=status)
        if add_me:
            messages.success(request, _("You now use %(email)s.") % {"email": address.email})
        show_once(request, url, password=raw, device=device.pk)
        return done(request, url)


urlpatterns = [
    path("mail/addresses/<int:pk>/users/", AddressUsersView.as_view(), name="address_users"),
    path("mail/addresses/<int:pk>/devices/", AddressDevicesView.as_view(), name="address_devices"),
]

""""My mail": the home of a person who uses addresses — each address with what they may
do there, their device passwords, client setup and downloads, and the pages their
permissions open. Nothing of the organisation's management."""
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import render
from django.urls import path
from django.views import View

from .. import permissions, selectors
from ..forms import DevicePasswordForm
from ..models import Permission


class MyMailView(LoginRequiredMixin, View):
    template = "mailservice/my_mail.html"

    def get(self, request):
        cards = []
        for access in selectors.my_addresses(request.user):
            mine = set(access.permissions)
            cards.append({
                "address": access.address,
                "permission_labels": permissions.labels(mine),
                "setup": bool(mine & set(permissions.CLIENT_SETUP)),
                "rules": Permission.MANAGE_RULES in mine,
                "autoreply": Permission.MANAGE_AUTOREPLY in mine,
                "redirections": Permission.MANAGE_REDIRECTIONS in mine,
                "signature": Permission.MANAGE_SIGNATURE in mine,
                "active_devices": access.active_devices,
                "last_device_use": access.last_device_use,
                # Creating a password posts to the address's device page, which shows it once.
                "device_form": DevicePasswordForm(address=access.address,
                                                  auto_id=f"a{access.address_id}-%s"),
            })
        return render(request, self.template, {"cards": cards})


urlpatterns = [path("my-mail/", MyMailView.as_view(), name="my_mail")]

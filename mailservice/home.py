"""Where the home page sends a person (asked by the platform core through the installed
apps): someone who only uses addresses in the current organisation lands on "My mail"."""
from django.urls import reverse

from manager.accounts.roles import VIEW
from manager.core.permissions import may

from .models import AddressAccess


def home_url(request) -> str | None:
    organisation = request.organisation
    if organisation is not None and may(request.user, VIEW, organisation_id=organisation.pk):
        return None  # managers keep the dashboard
    if AddressAccess.objects.filter(user=request.user).exists():
        return reverse("mailservice:my_mail")
    return None

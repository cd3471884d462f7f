"""The UI base view's gate: `get_restricted(action)` is a 404 for what the user may not
see and a 403 for what they see but may not do."""
import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.test import RequestFactory

from mailservice.models import MailService
from manager.core.views import RestrictedView

pytestmark = pytest.mark.django_db


class RenameServiceView(RestrictedView):
    """A page that changes the service, so it asks the gate for `change`."""

    model = MailService

    def get(self, request, pk):
        return HttpResponse(self.get_restricted("change", pk=pk).domain)


class ShowServiceView(RestrictedView):
    model = MailService

    def get(self, request, pk):
        return HttpResponse(self.get_restricted(pk=pk).domain)


def call(view, user, pk):
    request = RequestFactory().get("/")
    request.user = user
    return view.as_view()(request, pk=pk)


def test_a_view_asking_for_change_refuses_a_user_who_may_only_view(owner, member, premium):
    assert call(ShowServiceView, member, premium.pk).content == b"domain.xyz"
    with pytest.raises(PermissionDenied):
        call(RenameServiceView, member, premium.pk)
    assert call(RenameServiceView, owner, premium.pk).content == b"domain.xyz"


def test_another_organisations_object_is_a_404_whatever_the_action(outsider, premium):
    for view in (ShowServiceView, RenameServiceView):
        with pytest.raises(Http404):
            call(view, outsider, premium.pk)

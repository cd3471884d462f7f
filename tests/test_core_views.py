"""The UI base view's gate: `get_restricted(action)` is a 404 for what the user may not
see and a 403 for what they see but may not do."""
import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.test import RequestFactory

from manager.accounts.models import Organisation
from manager.core.views import RestrictedView

pytestmark = pytest.mark.django_db


class RenameOrganisationView(RestrictedView):
    """A page that changes the organisation, so it asks the gate for `change`."""

    model = Organisation

    def get(self, request, pk):
        return HttpResponse(self.get_restricted("change", pk=pk).name)


class ShowOrganisationView(RestrictedView):
    model = Organisation

    def get(self, request, pk):
        return HttpResponse(self.get_restricted(pk=pk).name)


def call(view, user, pk):
    request = RequestFactory().get("/")
    request.user = user
    return view.as_view()(request, pk=pk)


def test_a_view_asking_for_change_refuses_a_user_who_may_only_view(owner, member, organisation):
    assert call(ShowOrganisationView, member, organisation.pk).content == b"Acme Hosting"
    with pytest.raises(PermissionDenied):
        call(RenameOrganisationView, member, organisation.pk)
    assert call(RenameOrganisationView, owner, organisation.pk).content == b"Acme Hosting"


def test_another_organisations_object_is_a_404_whatever_the_action(outsider, organisation):
    for view in (ShowOrganisationView, RenameOrganisationView):
        with pytest.raises(Http404):
            call(view, outsider, organisation.pk)

"""The organisation the person is working in (the switcher), kept in the session."""
from django.utils.functional import SimpleLazyObject


def _current(request):
    from .models import Organisation

    user = request.user
    if not user.is_authenticated:
        return None
    visible = Organisation.objects.restrict(user, "view")
    wanted = request.session.get("organisation_id")
    organisation = visible.filter(pk=wanted).first() if wanted else None
    return organisation or visible.first()


class CurrentOrganisationMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.organisation = SimpleLazyObject(lambda: _current(request))
        return self.get_response(request)

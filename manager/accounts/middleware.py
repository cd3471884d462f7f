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


class RememberLanguageMiddleware:
    """Keeps the language a logged-in person uses the panel in on their account (one
    UPDATE when it changes, none otherwise), for the e-mails sent to them outside a
    request. Placed after LocaleMiddleware and AuthenticationMiddleware. A call with an
    API token says nothing of the panel (a script sends no Accept-Language): it is never
    remembered, or each call of a French user's script would write "en" back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, "auth", None) is not None:  # the API token DRF authenticated
            return response
        user = getattr(request, "user", None)
        language = getattr(request, "LANGUAGE_CODE", "")
        if (user is not None and user.is_authenticated and language
                and getattr(user, "language", language) != language):
            from .models import User

            User.objects.filter(pk=user.pk).update(language=language)
        return response

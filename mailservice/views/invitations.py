"""The public page where an invitation link is accepted."""
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views import View

from manager.core.errors import ServiceError
from manager.core.views import done

from .. import services
from .access import permission_labels


class InvitationAcceptView(View):
    """`invitations/<token>/`, public: who is invited to what, and an Accept button for a
    logged-in person; login / sign-up links that come back here otherwise."""

    template = "mailservice/invitation_accept.html"

    def problem(self, invitation):
        """(message, HTTP status) when the link can't be used, else None."""
        if invitation is None:
            return _("This invitation link is not valid. Check that you copied all of it, or "
                     "ask for a new one."), 404
        status = invitation.status
        if status == "pending":
            return None
        return {
            "accepted": _("This invitation has already been used. Each link works once."),
            "revoked": _("This invitation was revoked by an administrator."),
            "expired": _("This invitation has expired. Ask the administrator for a new link."),
        }[status], 410

    def page(self, request, token, invitation, problem=None, status=200):
        return render(request, self.template, {
            "invitation": invitation if problem is None else None,
            "address": invitation.address if invitation is not None and problem is None else None,
            "permission_labels": permission_labels(invitation.permissions) if invitation else [],
            "problem": problem,
            "here": request.path,
        }, status=status)

    def get(self, request, token):
        invitation = services.invitation_by_token(token)
        problem = self.problem(invitation)
        if problem:
            return self.page(request, token, invitation, *problem)
        return self.page(request, token, invitation)

    def post(self, request, token):
        if not request.user.is_authenticated:
            return redirect_to_login(request.path)
        try:
            access = services.invitation_accept(raw_token=token, user=request.user)
        except ServiceError as exc:
            invitation = services.invitation_by_token(token)
            problem = self.problem(invitation)
            if problem is None:  # refused for another reason (e.g. the address is a login)
                problem = (exc.message, exc.status)
            return self.page(request, token, invitation, *problem)
        address = access.address
        # Land in the address's organisation so it shows in the lists straight away.
        request.session["organisation_id"] = address.mail_service.organisation_id
        messages.success(request, _("You now use %(email)s.") % {"email": address.email})
        return done(request, reverse("mailservice:address_detail", args=[address.pk]))


urlpatterns = [
    path("invitations/<str:token>/", InvitationAcceptView.as_view(), name="invitation_accept"),
]

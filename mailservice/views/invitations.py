"""The public page where an invitation to an address is accepted."""
from django.contrib import messages
from django.urls import path, reverse
from django.utils.translation import gettext as _

from manager.accounts.views import InvitationLinkView

from .. import services
from ..services import people
from .access import permission_labels


class InvitationAcceptView(InvitationLinkView):
    """`invitations/<token>/`, public: who invites to which address with which permissions,
    then accept, log in, create the account, or log out (the rules of every invitation link,
    `InvitationLinkView`)."""

    template = "mailservice/invitation_accept.html"

    def find(self, token):
        return services.invitation_by_token(token)

    def offer(self, invitation):
        address = invitation.address
        return {"address": address, "organisation": address.mail_service.organisation,
                "permission_labels": permission_labels(invitation.permissions)}

    def landing(self, access):
        address = access.address
        # Land in the address's organisation so it shows in the lists straight away.
        self.request.session["organisation_id"] = address.mail_service.organisation_id
        messages.success(self.request, _("You now use %(email)s.") % {"email": address.email})
        return reverse("mailservice:address_detail", args=[address.pk])

    def accept(self, token, user):
        return self.landing(services.invitation_accept(raw_token=token, user=user))

    def sign_up(self, token, *, full_name, password):
        access = people.invitation_sign_up(raw_token=token, full_name=full_name, password=password)
        return access.user, self.landing(access)


urlpatterns = [
    path("invitations/<str:token>/", InvitationAcceptView.as_view(), name="invitation_accept"),
]

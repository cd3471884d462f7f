"""Writes on people, organisations, memberships, invitations and API tokens. Each one
audits itself. The rules every invitation link follows (single use, expiry, bound to the
invited e-mail, rate-limited resending) live here for the address invitations too."""
import secrets

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from manager.audit import services as audit
from manager.core.errors import Conflict, ServiceError
from manager.core.permissions import may
from manager.core.querysets import forget_roles

from .models import ApiToken, Membership, Organisation, OrganisationInvitation, User, hash_token
from .roles import MANAGE_MEMBERS, MANAGE_ORGANISATION, Role

ORG_FIELDS = ["name"]
MEMBER_FIELDS = ["user", "role"]


def _require(actor, action, organisation):
    if not may(actor, action, organisation_id=organisation.pk):
        raise ServiceError("Your role does not allow this action.", code="permission_denied",
                           status=403)


def _new_account(*, email: str, password: str, full_name: str) -> User:
    email = User.objects.normalize_email(email).strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ServiceError("An account with this e-mail address already exists.",
                           code="email_taken", fields={"email": ["Already registered."]})
    user = User(email=email, full_name=full_name)
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ServiceError(" ".join(exc.messages), code="weak_password",
                           fields={"password": list(exc.messages)}) from exc
    user.set_password(password)
    user.full_clean()
    user.save()
    audit.record(actor=user, action="create", obj=user, object_repr=user.email,
                 after={"email": user.email})
    return user


@transaction.atomic
def user_sign_up(*, email: str, password: str, full_name: str = "",
                 organisation_name: str = "") -> User:
    """A new person with their own organisation, which they own."""
    user = _new_account(email=email, password=password, full_name=full_name)
    organisation_create(actor=user, name=organisation_name or f"{full_name or user.email}'s organisation")
    return user


@transaction.atomic
def invitee_sign_up(*, invitation, password: str, full_name: str) -> User:
    """The account of the person an invitation is for (of either kind): its login is the
    invited e-mail, which the link verified, and it gets no organisation of its own (the
    invitation brings it into the inviting one). The caller accepts the invitation."""
    check_invitation(invitation)
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise Conflict(_("An account already uses this e-mail address: log in to accept."),
                       code="email_taken")
    full_name = (full_name or "").strip()
    if not full_name:
        raise ServiceError(_("Give your full name."), code="invalid",
                           fields={"full_name": [_("Required.")]})
    return _new_account(email=invitation.email, password=password, full_name=full_name)


@transaction.atomic
def organisation_create(*, actor: User, name: str) -> Organisation:
    organisation = Organisation(name=name.strip())
    organisation.full_clean()
    organisation.save()
    Membership.objects.create(organisation=organisation, user=actor, role=Role.OWNER)
    forget_roles(actor)
    audit.record(actor=actor, action="create", obj=organisation, organisation=organisation,
                 after=audit.snapshot(organisation, ORG_FIELDS))
    audit.record(actor=actor, action="create", verb="membership.add", organisation=organisation,
                 object_type="accounts.membership", object_id=actor.pk,
                 object_repr=f"{actor.email} as owner", after={"user": actor.pk, "role": Role.OWNER})
    return organisation


@transaction.atomic
def organisation_update(*, actor: User, organisation: Organisation, name: str) -> Organisation:
    _require(actor, MANAGE_ORGANISATION, organisation)
    before = audit.snapshot(organisation, ORG_FIELDS)
    organisation.name = name.strip()
    organisation.full_clean()
    organisation.save()
    audit.record(actor=actor, action="update", obj=organisation, organisation=organisation,
                 before=before, after=audit.snapshot(organisation, ORG_FIELDS))
    return organisation


@transaction.atomic
def organisation_delete(*, actor: User, organisation: Organisation) -> None:
    _require(actor, MANAGE_ORGANISATION, organisation)
    audit.record(actor=actor, action="delete", obj=organisation, organisation=None,
                 before=audit.snapshot(organisation, ORG_FIELDS))
    organisation.delete()  # PROTECT on products raises ProtectedError → 409


def _owners(organisation):
    return Membership.objects.select_for_update().filter(organisation=organisation, role=Role.OWNER)


def _check_role_grant(actor, organisation, role):
    if role not in Role.values:
        raise ServiceError("Unknown role.", code="invalid_role", fields={"role": ["Unknown role."]})
    if role in (Role.OWNER, Role.LEGAL_REPRESENTATIVE) and not may(
        actor, MANAGE_ORGANISATION, organisation_id=organisation.pk
    ):
        raise ServiceError("Only an owner or legal representative can grant this role.",
                           code="permission_denied", status=403)


# --- Invitations: the rules of every invitation link -----------------------------------

def invited_email(email: str) -> str:
    """The e-mail an invitation is bound to: required, valid, lower case."""
    email = (email or "").strip().lower()
    if not email:
        raise ServiceError(_("Give the e-mail address of the person you invite."), code="invalid",
                           fields={"email": [_("Required.")]})
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ServiceError(_("Enter a valid e-mail address."), code="invalid",
                           fields={"email": [_("Enter a valid e-mail address.")]}) from exc
    return email


def new_invitation_token() -> tuple[str, str]:
    """(the token that goes in the link, the hash that is stored)."""
    raw = secrets.token_urlsafe(32)
    return raw, hash_token(raw)


def invitation_for_update(model, raw_token: str):
    return model.objects.select_for_update().filter(token_hash=hash_token(raw_token)).first()


def check_invitation(invitation, user=None) -> None:
    """Refuse a link that can't be used: unknown (404), used, revoked or expired (410); and,
    given who accepts, one for another e-mail (403)."""
    if invitation is None:
        raise ServiceError(_("This invitation link is not valid."), code="not_found", status=404)
    status = invitation.status
    if status != "pending":
        messages = {"accepted": _("This invitation has already been used."),
                    "revoked": _("This invitation was revoked."),
                    "expired": _("This invitation has expired.")}
        raise ServiceError(messages[status], code=f"invitation_{status}", status=410)
    if user is not None and not invitation.is_for(user):
        if invitation.email:
            message = _("This invitation is for %(email)s; log in with that account to accept "
                        "it.") % {"email": invitation.masked_email}
        else:
            message = _("This invitation does not name the person it is for; ask for a new one.")
        raise ServiceError(message, code="invitation_for_another_account", status=403)


def send_invitation(invitation, *, url: str, template: str, context: dict) -> None:
    """E-mail the link to the invited address (`emails/<template>.txt` and its subject)."""
    context = {"invitation": invitation, "url": url, "days": settings.INVITATION_VALID_DAYS,
               "inviter": invitation.inviter_name, **context}
    send_mail(
        subject=render_to_string(f"emails/{template}_subject.txt", context).strip(),
        message=render_to_string(f"emails/{template}.txt", context),
        from_email=None, recipient_list=[invitation.email],
    )
    invitation.last_sent = timezone.now()
    invitation.send_count += 1
    invitation.save(update_fields=["last_sent", "send_count"])


def renew_invitation_token(invitation) -> str:
    """Before sending a pending invitation again: a new token (the stored hash can't give
    back the old one, so the previous link stops working), at most
    INVITATION_RESEND_PER_HOUR times an hour."""
    if invitation.status != "pending":
        raise Conflict(_("Only a pending invitation can be sent again."), code="invitation_not_pending")
    if not invitation.email:
        raise ServiceError(_("This invitation has no e-mail address to send to."), code="invalid",
                           fields={"email": [_("Missing.")]})
    hour_ago = timezone.now() - timezone.timedelta(hours=1)
    if (invitation.last_sent and invitation.last_sent > hour_ago
            and invitation.send_count >= settings.INVITATION_RESEND_PER_HOUR):
        raise ServiceError(_("This invitation was sent too often; try again later."),
                           code="rate_limited", status=429)
    if invitation.last_sent and invitation.last_sent <= hour_ago:
        invitation.send_count = 0
    raw, invitation.token_hash = new_invitation_token()
    invitation.save(update_fields=["token_hash", "send_count"])
    return raw


def revoke_invitation(invitation) -> None:
    if invitation.status != "pending":
        raise Conflict(_("Only a pending invitation can be revoked."), code="invitation_not_pending")
    invitation.revoked = timezone.now()
    invitation.save(update_fields=["revoked"])


def mark_accepted(invitation, user) -> None:
    invitation.accepted, invitation.accepted_by = timezone.now(), user
    invitation.save(update_fields=["accepted", "accepted_by"])


def join_organisation(*, user, organisation_id, role=Role.MEMBER) -> tuple[Membership, bool]:
    """Membership after an accepted invitation: a new member gets the invited role; an
    existing `member` is raised to it; a higher role is kept."""
    membership, created = Membership.objects.get_or_create(
        organisation_id=organisation_id, user=user, defaults={"role": role})
    if not created and membership.role == Role.MEMBER and role != Role.MEMBER:
        membership.role = role
        membership.save(update_fields=["role"])
    forget_roles(user)
    return membership, created


# --- Organisation invitations (how people are added by e-mail) -------------------------

def organisation_invitation_url(raw: str) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("accounts:invitation", args=[raw])


def _send_organisation_invitation(invitation, raw):
    send_invitation(invitation, url=organisation_invitation_url(raw), template="organisation_invitation",
                    context={"organisation": invitation.organisation,
                             "role": Role(invitation.role).label})


def _invitation_repr(invitation):
    return f"invitation of {invitation.email} as {invitation.role}"


@transaction.atomic
def organisation_invitation_create(*, actor: User, organisation: Organisation, email: str,
                                   role: str = Role.MEMBER) -> OrganisationInvitation:
    """Invite a person by e-mail to join with a role; the link is e-mailed to them. Whether
    the e-mail has an account changes nothing in the answer (nor in what is recorded)."""
    _require(actor, MANAGE_MEMBERS, organisation)
    _check_role_grant(actor, organisation, role)
    email = invited_email(email)
    if Membership.objects.filter(organisation=organisation, user__email__iexact=email).exists():
        raise Conflict("This person is already a member.", code="already_member",
                       fields={"email": ["Already a member."]})
    if OrganisationInvitation.objects.filter(organisation=organisation, email__iexact=email,
                                             accepted__isnull=True, revoked__isnull=True,
                                             expires__gt=timezone.now()).exists():
        raise Conflict(_("An invitation to this e-mail address is pending; send it again "
                         "instead."), code="already_invited",
                       fields={"email": [_("Already invited.")]})
    raw, token_hash = new_invitation_token()
    invitation = OrganisationInvitation.objects.create(
        organisation=organisation, email=email, role=role, token_hash=token_hash, created_by=actor)
    audit.record(actor=actor, action="create", obj=invitation, verb="membership.invite",
                 object_repr=_invitation_repr(invitation),
                 after={"email": email, "role": role, "expires": str(invitation.expires)})
    _send_organisation_invitation(invitation, raw)
    return invitation


@transaction.atomic
def organisation_invitation_resend(*, actor: User,
                                   invitation: OrganisationInvitation) -> OrganisationInvitation:
    _require(actor, MANAGE_MEMBERS, invitation.organisation)
    raw = renew_invitation_token(invitation)
    _send_organisation_invitation(invitation, raw)
    audit.record(actor=actor, action="update", obj=invitation, verb="invitation.resend",
                 object_repr=_invitation_repr(invitation), after={"sent": invitation.send_count})
    return invitation


@transaction.atomic
def organisation_invitation_revoke(*, actor: User,
                                   invitation: OrganisationInvitation) -> OrganisationInvitation:
    _require(actor, MANAGE_MEMBERS, invitation.organisation)
    revoke_invitation(invitation)
    audit.record(actor=actor, action="update", obj=invitation, verb="invitation.revoke",
                 object_repr=_invitation_repr(invitation), after={"revoked": True})
    return invitation


def organisation_invitation_by_token(raw: str) -> OrganisationInvitation | None:
    return OrganisationInvitation.objects.select_related("organisation", "created_by").filter(
        token_hash=hash_token(raw)).first()


@transaction.atomic
def organisation_invitation_accept(*, raw_token: str, user: User) -> Membership:
    """The invited account (and only it) joins the organisation with the invited role."""
    invitation = invitation_for_update(OrganisationInvitation, raw_token)
    check_invitation(invitation, user)
    membership, created = join_organisation(user=user, organisation_id=invitation.organisation_id,
                                            role=invitation.role)
    mark_accepted(invitation, user)
    audit.record(actor=user, action="update", obj=invitation, verb="invitation.accept",
                 object_repr=_invitation_repr(invitation), after={"user": user.pk})
    if created:
        audit.record(actor=user, action="create", obj=membership, verb="membership.add",
                     object_repr=f"{user.email} as {membership.role}",
                     after=audit.snapshot(membership, MEMBER_FIELDS))
    return membership


@transaction.atomic
def organisation_invitation_sign_up(*, raw_token: str, full_name: str,
                                    password: str) -> Membership:
    """Create the invitee's account from the link and accept, in one step."""
    invitation = invitation_for_update(OrganisationInvitation, raw_token)
    check_invitation(invitation)
    user = invitee_sign_up(invitation=invitation, password=password, full_name=full_name)
    return organisation_invitation_accept(raw_token=raw_token, user=user)


@transaction.atomic
def member_change_role(*, actor: User, membership: Membership, role: str) -> Membership:
    organisation = membership.organisation
    _require(actor, MANAGE_MEMBERS, organisation)
    if role not in Role.values:
        raise ServiceError("Unknown role.", code="invalid_role", fields={"role": ["Unknown role."]})
    touches_top = Role.OWNER in (role, membership.role) or Role.LEGAL_REPRESENTATIVE in (
        role, membership.role)
    if touches_top and not may(actor, MANAGE_ORGANISATION, organisation_id=organisation.pk):
        raise ServiceError("Only an owner or legal representative can change this role.",
                           code="permission_denied", status=403)
    if membership.role == Role.OWNER and role != Role.OWNER and _owners(organisation).count() <= 1:
        raise Conflict("The last owner cannot be demoted; make someone else owner first.",
                       code="last_owner")
    before = audit.snapshot(membership, MEMBER_FIELDS)
    changed = membership.role != role
    membership.role = role
    membership.save(update_fields=["role"])
    forget_roles(membership.user)
    # A session opened under the old role ends with it: whatever it was granted (an open
    # form, a stolen cookie) does not carry over; the person logs in again.
    ended = end_web_sessions(membership.user) if changed else 0
    audit.record(actor=actor, action="update", obj=membership, verb="membership.role",
                 object_repr=membership.user.email, before=before,
                 after={**audit.snapshot(membership, MEMBER_FIELDS), "sessions_ended": ended}
                 if changed else audit.snapshot(membership, MEMBER_FIELDS))
    return membership


@transaction.atomic
def member_remove(*, actor: User, membership: Membership) -> None:
    organisation = membership.organisation
    if actor.pk != membership.user_id:  # leaving needs no right; removing others does
        _require(actor, MANAGE_MEMBERS, organisation)
        if membership.role in (Role.OWNER, Role.LEGAL_REPRESENTATIVE) and not may(
            actor, MANAGE_ORGANISATION, organisation_id=organisation.pk
        ):
            raise ServiceError("Only an owner or legal representative can remove this member.",
                               code="permission_denied", status=403)
    if membership.role == Role.OWNER and _owners(organisation).count() <= 1:
        raise Conflict("The last owner cannot be removed.", code="last_owner")
    audit.record(actor=actor, action="delete", obj=membership, verb="membership.remove",
                 object_repr=membership.user.email, before=audit.snapshot(membership, MEMBER_FIELDS))
    membership.delete()
    forget_roles(membership.user)
    # Their pages and API answers for this organisation end with the role; their mail
    # access to its addresses ends now too (devices revoked, sessions kicked).
    from mailservice.services.people import person_mail_cut_off

    person_mail_cut_off(actor=actor, user=membership.user, organisation=organisation,
                        remove_access=True)
    if actor.pk != membership.user_id:
        # As on a role change: a session opened while they belonged (an open form, a
        # stolen cookie) does not outlive their place here. Leaving is the person's own
        # act in their own session, which goes on.
        end_web_sessions(membership.user)


def end_web_sessions(user) -> int:
    """Delete every web session of a person (they are logged out everywhere); the number."""
    from .models import WebSession

    return WebSession.objects.filter(user_id=user.pk).delete()[0]


def _check_may_disable(actor, user, organisation):
    """The platform's staff may disable anyone. An organisation's owner or administrator
    may disable one of its members who belongs to no other organisation (the account is
    the person's everywhere: another organisation's member is removed, not disabled);
    an owner or legal representative only by an owner or legal representative."""
    if actor.pk == user.pk:
        raise Conflict(_("You cannot disable yourself."), code="self_disable")
    if getattr(actor, "is_staff", False):
        return
    if organisation is None:
        raise ServiceError(_("Only the platform's staff can disable a person."),
                           code="permission_denied", status=403)
    _require(actor, MANAGE_MEMBERS, organisation)
    membership = Membership.objects.filter(organisation=organisation, user=user).first()
    if membership is None:
        raise ServiceError(_("Not a member of this organisation."), code="not_found", status=404)
    if membership.role in (Role.OWNER, Role.LEGAL_REPRESENTATIVE) and not may(
            actor, MANAGE_ORGANISATION, organisation_id=organisation.pk):
        raise ServiceError(_("Only an owner or legal representative can disable this member."),
                           code="permission_denied", status=403)
    if Membership.objects.filter(user=user).exclude(organisation=organisation).exists():
        raise Conflict(_("This person also belongs to other organisations: remove them from "
                         "this one instead."), code="member_elsewhere")


@transaction.atomic
def user_disable(*, actor: User, user: User, organisation: Organisation | None = None) -> None:
    """Disable a person everywhere: their web sessions end (and an inactive user is
    anonymous on any request), their API tokens are revoked, and their mail access ends
    (device passwords revoked, open sessions kicked). Staff, or an owner/administrator
    of `organisation` for a member of it alone (`_check_may_disable`)."""
    from mailservice.services.people import person_mail_cut_off

    _check_may_disable(actor, user, organisation)
    user.is_active = False
    user.save(update_fields=["is_active"])
    tokens = ApiToken.objects.filter(user=user, revoked__isnull=True).update(revoked=timezone.now())
    ended = end_web_sessions(user)
    devices = person_mail_cut_off(actor=actor, user=user)
    forget_roles(user)
    audit.record(actor=actor, action="update", obj=user, verb="user.disable", object_repr=user.email,
                 organisation=organisation, before={"is_active": True},
                 after={"is_active": False, "api_tokens_revoked": tokens, "sessions_ended": ended,
                        "device_passwords_revoked": devices})


@transaction.atomic
def user_enable(*, actor: User, user: User, organisation: Organisation | None = None) -> None:
    """Let a disabled person log in again (same rights as disabling). What disabling
    revoked stays revoked: they make new API tokens and device passwords."""
    _check_may_disable(actor, user, organisation)
    if user.is_active:
        return
    user.is_active = True
    user.save(update_fields=["is_active"])
    forget_roles(user)
    audit.record(actor=actor, action="update", obj=user, verb="user.enable", object_repr=user.email,
                 organisation=organisation, before={"is_active": False}, after={"is_active": True})


@transaction.atomic
def api_token_create(*, actor: User, name: str) -> tuple[ApiToken, str]:
    """Returns the token row and the plaintext, which is never stored."""
    from .models import hash_token

    name = (name or "").strip()
    if not name:
        raise ServiceError("Give the token a name.", code="invalid", fields={"name": ["Required."]})
    raw = ApiToken.generate()
    token = ApiToken.objects.create(user=actor, name=name[:100], token_hash=hash_token(raw),
                                    hint=raw[:10])
    audit.record(actor=actor, action="create", obj=token, organisation=None,
                 after={"name": token.name, "hint": token.hint})
    return token, raw


@transaction.atomic
def api_token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    if token.user_id != actor.pk:
        raise ServiceError("Not your token.", code="not_found", status=404)
    if token.revoked is None:
        token.revoked = timezone.now()
        token.save(update_fields=["revoked"])
        audit.record(actor=actor, action="update", obj=token, verb="api_token.revoke",
                     organisation=None, before={"revoked": None}, after={"revoked": str(token.revoked)})
    return token

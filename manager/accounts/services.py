"""Writes on people, organisations, memberships and API tokens. Each one audits itself."""
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from manager.audit import services as audit
from manager.core.errors import Conflict, ServiceError
from manager.core.permissions import may
from manager.core.querysets import forget_roles

from .models import ApiToken, Membership, Organisation, User
from .roles import MANAGE_MEMBERS, MANAGE_ORGANISATION, Role

ORG_FIELDS = ["name"]
MEMBER_FIELDS = ["user", "role"]


def _require(actor, action, organisation):
    if not may(actor, action, organisation_id=organisation.pk):
        raise ServiceError("Your role does not allow this action.", code="permission_denied",
                           status=403)


@transaction.atomic
def user_sign_up(*, email: str, password: str, full_name: str = "",
                 organisation_name: str = "") -> User:
    """A new person with their own organisation, which they own."""
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
    organisation_create(actor=user, name=organisation_name or f"{full_name or email}'s organisation")
    return user


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


@transaction.atomic
def member_add(*, actor: User, organisation: Organisation, email: str, role: str) -> Membership:
    """Add an existing account to the organisation."""
    _require(actor, MANAGE_MEMBERS, organisation)
    if role not in Role.values:
        raise ServiceError("Unknown role.", code="invalid_role", fields={"role": ["Unknown role."]})
    if role in (Role.OWNER, Role.LEGAL_REPRESENTATIVE) and not may(
        actor, MANAGE_ORGANISATION, organisation_id=organisation.pk
    ):
        raise ServiceError("Only an owner or legal representative can grant this role.",
                           code="permission_denied", status=403)
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None:
        raise ServiceError("No account uses this e-mail address; invite the person instead.",
                           code="user_not_found", fields={"email": ["No such account."]})
    if Membership.objects.filter(organisation=organisation, user=user).exists():
        raise Conflict("This person is already a member.", code="already_member",
                       fields={"email": ["Already a member."]})
    membership = Membership.objects.create(organisation=organisation, user=user, role=role)
    audit.record(actor=actor, action="create", obj=membership, verb="membership.add",
                 object_repr=f"{user.email} as {role}",
                 after=audit.snapshot(membership, MEMBER_FIELDS))
    return membership


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
    membership.role = role
    membership.save(update_fields=["role"])
    forget_roles(membership.user)
    audit.record(actor=actor, action="update", obj=membership, verb="membership.role",
                 object_repr=membership.user.email, before=before,
                 after=audit.snapshot(membership, MEMBER_FIELDS))
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

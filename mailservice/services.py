"""Writes on mail services and addresses. Each service validates, checks the plan,
audits, and leaves a push job for the mail backend in the same transaction."""
import hashlib
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from manager.accounts.models import Membership, User
from manager.accounts.roles import ADD, CHANGE, DELETE, Role
from manager.audit import services as audit
from manager.core import outbox
from manager.core.errors import Conflict, ServiceError
from manager.core.permissions import may
from manager.core.querysets import forget_roles

from . import validators
from .access import manages
from .models import (
    CATCHALL_LOCAL_PART,
    Address,
    AddressAccess,
    Alias,
    DevicePassword,
    Invitation,
    MailService,
    Permission,
    Redirection,
)
from .plans import FEATURES, PLANS

SERVICE_FIELDS = ["domain", "plan", "capacity", "backend_host"]
ADDRESS_FIELDS = ["local_part", "display_name", "quota_mb", "enabled", "autoreply_enabled",
                  "autoreply_subject", "autoreply_body"]
PUSH_KIND = "mail_service"


def _denied():
    return ServiceError(_("Your role does not allow this action."), code="permission_denied",
                        status=403)


def _require(actor, action, organisation_id):
    if not may(actor, action, organisation_id=organisation_id):
        raise _denied()


def _invalid(field, error: ValidationError):
    return ServiceError(" ".join(error.messages), code=error.code or "invalid",
                        fields={field: list(error.messages)})


def _clean(field, cleaner, value):
    try:
        return cleaner(value)
    except ValidationError as exc:
        raise _invalid(field, exc) from exc


def push(service: MailService):
    """The mail backend must receive this service's desired state (after commit). The unit
    is named by its domain, which never changes, so a deleted service can still be removed
    from the backend."""
    outbox.enqueue(PUSH_KIND, service.domain, organisation_id=service.organisation_id)


def _feature_error(service_or_plan, feature):
    plan_ = service_or_plan.plan_info if hasattr(service_or_plan, "plan_info") else service_or_plan
    return ServiceError(
        _("The %(plan)s plan does not include %(feature)s.")
        % {"plan": plan_.name, "feature": FEATURES[feature]},
        code="feature_not_in_plan", status=403,
    )


def require_feature(service: MailService, feature: str):
    if not getattr(service.plan_info, feature):
        raise _feature_error(service, feature)


# --- Mail services ---------------------------------------------------------------------

def _check_capacity(plan_slug, capacity):
    plan_ = PLANS[plan_slug]
    if plan_.max_addresses is None and (
        capacity < plan_.min_capacity or capacity % plan_.capacity_step
    ):
        raise ServiceError(
            _("The %(plan)s plan is bought in packs of %(step)d addresses, %(min)d minimum.")
            % {"plan": plan_.name, "step": plan_.capacity_step, "min": plan_.min_capacity},
            code="invalid_capacity", fields={"capacity": [_("Invalid capacity for this plan.")]})


@transaction.atomic
def mail_service_create(*, actor, organisation, domain: str, plan: str, capacity: int | None = None,
                        backend_host: str = "default") -> MailService:
    _require(actor, ADD, organisation.pk)
    domain = _clean("domain", validators.clean_domain, domain)
    if plan not in PLANS:
        raise ServiceError(_("Unknown plan."), code="invalid_plan", fields={"plan": [_("Unknown plan.")]})
    plan_ = PLANS[plan]
    capacity = capacity if capacity is not None else max(plan_.min_capacity, 5 if plan == "premium" else 1)
    _check_capacity(plan, capacity)
    if MailService.objects.filter(domain=domain).exists():
        raise Conflict(_("A mail service already serves %(domain)s.") % {"domain": domain},
                       code="domain_taken", fields={"domain": [_("Already served.")]})
    service = MailService.objects.create(organisation=organisation, domain=domain, plan=plan,
                                         capacity=capacity, backend_host=backend_host or "default")
    audit.record(actor=actor, action="create", obj=service,
                 after=audit.snapshot(service, SERVICE_FIELDS))
    push(service)
    return service


@transaction.atomic
def mail_service_update(*, actor, service: MailService, plan: str | None = None,
                        capacity: int | None = None) -> MailService:
    _require(actor, CHANGE, service.organisation_id)
    service = MailService.objects.select_for_update().get(pk=service.pk)
    before = audit.snapshot(service, SERVICE_FIELDS)
    new_plan = plan or service.plan
    if new_plan not in PLANS:
        raise ServiceError(_("Unknown plan."), code="invalid_plan", fields={"plan": [_("Unknown plan.")]})
    new_capacity = capacity if capacity is not None else service.capacity
    if new_plan != service.plan and capacity is None:
        new_capacity = max(new_capacity, PLANS[new_plan].min_capacity)
    _check_capacity(new_plan, new_capacity)
    addresses = service.addresses.all()
    count = addresses.count()
    plan_ = PLANS[new_plan]
    limit = plan_.max_addresses if plan_.max_addresses is not None else new_capacity
    if count > limit:
        raise ServiceError(
            _("%(count)d addresses exist; the %(plan)s plan allows %(limit)d. Delete some first.")
            % {"count": count, "plan": plan_.name, "limit": limit}, code="plan_limit_reached")
    if not plan_.catchall and addresses.filter(local_part=CATCHALL_LOCAL_PART).exists():
        raise _feature_error(plan_, "catchall")
    if not plan_.advanced_sieve and addresses.filter(sieve_mode=Address.SieveMode.ADVANCED).exists():
        raise _feature_error(plan_, "advanced_sieve")
    service.plan, service.capacity = new_plan, new_capacity
    service.save(update_fields=["plan", "capacity"])
    audit.record(actor=actor, action="update", obj=service, before=before,
                 after=audit.snapshot(service, SERVICE_FIELDS))
    push(service)
    return service


@transaction.atomic
def mail_service_delete(*, actor, service: MailService) -> None:
    _require(actor, DELETE, service.organisation_id)
    audit.record(actor=actor, action="delete", obj=service,
                 before=audit.snapshot(service, SERVICE_FIELDS))
    push(service)  # the push of a missing service removes it from the backend
    service.delete()


# --- Addresses -------------------------------------------------------------------------

def _local_part_free(service, local_part, *, exclude_address=None, exclude_alias=None):
    addresses = Address.objects.filter(mail_service=service, local_part=local_part)
    aliases = Alias.objects.filter(mail_service=service, local_part=local_part)
    if exclude_address:
        addresses = addresses.exclude(pk=exclude_address.pk)
    if exclude_alias:
        aliases = aliases.exclude(pk=exclude_alias.pk)
    if addresses.exists() or aliases.exists():
        raise Conflict(_("%(email)s is already in use.") % {"email": f"{local_part}@{service.domain}"},
                       code="local_part_taken", fields={"local_part": [_("Already in use.")]})


@transaction.atomic
def address_create(*, actor, service: MailService, local_part: str, display_name: str = "",
                   quota_mb: int | None = None, enabled: bool = True) -> Address:
    from . import rules_services  # it imports this module

    _require(actor, ADD, service.organisation_id)
    # Lock the service row so two concurrent creations can't both pass the plan check.
    service = MailService.objects.select_for_update().get(pk=service.pk)
    local_part = _clean("local_part", validators.clean_local_part, local_part)
    if local_part == CATCHALL_LOCAL_PART:
        require_feature(service, "catchall")
    count = service.addresses.count()
    if count >= service.address_limit:
        raise ServiceError(
            _("The %(plan)s plan allows %(limit)d address(es) on %(domain)s; the limit is reached.")
            % {"plan": service.plan_info.name, "limit": service.address_limit, "domain": service.domain},
            code="plan_limit_reached", status=403)
    _local_part_free(service, local_part)
    address = Address(mail_service=service, local_part=local_part, display_name=display_name.strip(),
                      enabled=enabled)
    if quota_mb is not None:
        address.quota_mb = quota_mb
    try:
        address.full_clean()
        address.save()
    except ValidationError as exc:
        raise ServiceError("; ".join(exc.messages), code="invalid",
                           fields=getattr(exc, "message_dict", {})) from exc
    except IntegrityError as exc:
        raise Conflict(_("This address already exists."), code="local_part_taken") from exc
    audit.record(actor=actor, action="create", obj=address,
                 after=audit.snapshot(address, ADDRESS_FIELDS))
    rules_services.apply_templates_to_new_address(actor=actor, address=address)
    push(service)
    return address


@transaction.atomic
def address_update(*, actor, address: Address, **changes) -> Address:
    """Change display name, quota, enabled flag or auto-reply. The local part is fixed:
    renaming an address would silently move its mail and logins."""
    allowed = {"display_name", "quota_mb", "enabled", "autoreply_enabled", "autoreply_subject",
               "autoreply_body"}
    unknown = set(changes) - allowed
    if unknown:
        raise ServiceError(_("These fields cannot be changed: %(f)s") % {"f": ", ".join(sorted(unknown))},
                           code="read_only", fields={f: [_("Read-only.")] for f in unknown})
    from .access import may_on_address

    autoreply_only = set(changes) <= {"autoreply_enabled", "autoreply_subject", "autoreply_body"}
    if not (manages(actor, address) or (autoreply_only and may_on_address(
            actor, Permission.MANAGE_AUTOREPLY, address))):
        raise _denied()
    before = audit.snapshot(address, ADDRESS_FIELDS)
    for key, value in changes.items():
        setattr(address, key, value.strip() if isinstance(value, str) and key != "autoreply_body" else value)
    try:
        address.full_clean()
    except ValidationError as exc:
        raise ServiceError("; ".join(exc.messages), code="invalid", fields=exc.message_dict) from exc
    address.save()
    after = audit.snapshot(address, ADDRESS_FIELDS)
    if before != after:
        audit.record(actor=actor, action="update", obj=address, before=before, after=after)
        push(address.mail_service)
    return address


@transaction.atomic
def address_delete(*, actor, address: Address) -> None:
    _require(actor, DELETE, address.mail_service.organisation_id)
    audit.record(actor=actor, action="delete", obj=address,
                 before=audit.snapshot(address, ADDRESS_FIELDS))
    service = address.mail_service
    address.delete()
    push(service)


# --- Aliases and redirections ----------------------------------------------------------

@transaction.atomic
def alias_create(*, actor, address: Address, local_part: str) -> Alias:
    if not manages(actor, address):
        raise _denied()
    service = address.mail_service
    local_part = _clean("local_part", validators.clean_local_part, local_part)
    if local_part == CATCHALL_LOCAL_PART:
        raise ServiceError(_("“catchall” is the generic address, not an alias."),
                           code="reserved", fields={"local_part": [_("Reserved.")]})
    _local_part_free(service, local_part)
    alias = Alias.objects.create(address=address, mail_service=service, local_part=local_part)
    audit.record(actor=actor, action="create", obj=alias,
                 after={"address": address.pk, "local_part": local_part})
    push(service)
    return alias


@transaction.atomic
def alias_delete(*, actor, alias: Alias) -> None:
    if not manages(actor, alias.address):
        raise _denied()
    audit.record(actor=actor, action="delete", obj=alias,
                 before={"address": alias.address_id, "local_part": alias.local_part})
    alias.delete()
    push(alias.address.mail_service)


def _redirect_graph():
    """Where each address we serve forwards to (enabled addresses and aliases resolved)."""
    graph: dict[str, set[str]] = {}
    for r in Redirection.objects.select_related("address__mail_service"):
        graph.setdefault(r.address.email, set()).add(r.target)
    for a in Alias.objects.select_related("mail_service", "address"):
        graph.setdefault(f"{a.local_part}@{a.mail_service.domain}", set()).add(
            f"{a.address.local_part}@{a.mail_service.domain}")
    return graph


def _would_loop(source: str, target: str) -> bool:
    graph = _redirect_graph()
    graph.setdefault(source, set()).add(target)
    seen, stack = set(), [target]
    while stack:
        node = stack.pop()
        if node == source:
            return True
        if node in seen:
            continue
        seen.add(node)
        stack.extend(graph.get(node, ()))
    return False


@transaction.atomic
def redirection_create(*, actor, address: Address, target: str, keep_copy: bool = True) -> Redirection:
    from .access import may_on_address

    if not may_on_address(actor, Permission.MANAGE_REDIRECTIONS, address):
        raise _denied()
    target = _clean("target", validators.clean_email, target)
    if target == address.email or _would_loop(address.email, target):
        raise ServiceError(_("This redirection would send mail round in a loop."),
                           code="redirection_loop", fields={"target": [_("Creates a loop.")]})
    if Redirection.objects.filter(address=address, target=target).exists():
        raise Conflict(_("This redirection already exists."), code="duplicate",
                       fields={"target": [_("Already redirected there.")]})
    redirection = Redirection.objects.create(address=address, target=target, keep_copy=keep_copy)
    audit.record(actor=actor, action="create", obj=redirection,
                 after={"address": address.pk, "target": target, "keep_copy": keep_copy})
    push(address.mail_service)
    return redirection


@transaction.atomic
def redirection_delete(*, actor, redirection: Redirection) -> None:
    from .access import may_on_address

    if not may_on_address(actor, Permission.MANAGE_REDIRECTIONS, redirection.address):
        raise _denied()
    audit.record(actor=actor, action="delete", obj=redirection,
                 before={"target": redirection.target, "keep_copy": redirection.keep_copy})
    redirection.delete()
    push(redirection.address.mail_service)


# --- Users of an address ---------------------------------------------------------------

def _clean_permissions(address, permissions) -> list[str]:
    permissions = sorted(set(permissions or []))
    unknown = [p for p in permissions if p not in Permission.values]
    if unknown:
        raise ServiceError(_("Unknown permission: %(p)s") % {"p": ", ".join(unknown)},
                           code="invalid_permission", fields={"permissions": [_("Unknown permission.")]})
    if address.is_catchall and Permission.SEND in permissions:
        raise ServiceError(_("The catchall address can never send mail."), code="catchall_cannot_send",
                           fields={"permissions": [_("Sending is not possible from the catchall.")]})
    return permissions


def _refuse_login_address(address, user):
    """An address that is an account's login can't be shared with anyone else."""
    owner = User.objects.filter(email__iexact=address.email).first()
    if owner is not None and owner.pk != user.pk:
        raise Conflict(_("%(email)s is the login of an account and cannot be shared.")
                       % {"email": address.email}, code="address_is_login")


@transaction.atomic
def access_grant(*, actor, address: Address, user, permissions) -> AddressAccess:
    """Add an existing member of the organisation as a user of the address."""
    if not manages(actor, address):
        raise _denied()
    permissions = _clean_permissions(address, permissions)
    if not Membership.objects.filter(organisation_id=address.mail_service.organisation_id,
                                     user=user).exists():
        raise ServiceError(_("Only members of the organisation can be added; invite others."),
                           code="not_a_member", fields={"user": [_("Not a member.")]})
    _refuse_login_address(address, user)
    if AddressAccess.objects.filter(address=address, user=user).exists():
        raise Conflict(_("This person already uses the address."), code="already_user")
    access = AddressAccess.objects.create(address=address, user=user, permissions=permissions)
    audit.record(actor=actor, action="create", obj=access, object_repr=f"{user.email} on {address.email}",
                 after={"user": user.pk, "permissions": permissions})
    push(address.mail_service)
    return access


@transaction.atomic
def access_update(*, actor, access: AddressAccess, permissions) -> AddressAccess:
    if not manages(actor, access.address):
        raise _denied()
    before = {"permissions": access.permissions}
    access.permissions = _clean_permissions(access.address, permissions)
    access.save(update_fields=["permissions"])
    audit.record(actor=actor, action="update", obj=access, before=before,
                 after={"permissions": access.permissions},
                 object_repr=f"{access.user.email} on {access.address.email}")
    # Sending rights live in the backend's passdb rows.
    DevicePassword.objects.filter(access=access, revoked__isnull=True).update(
        can_send=Permission.SEND in access.permissions and not access.address.is_catchall)
    push(access.address.mail_service)
    return access


@transaction.atomic
def access_disconnect_devices(*, actor, access: AddressAccess) -> int:
    """Revoke all the user's device passwords on this address; web access stays."""
    if not (manages(actor, access.address) or actor.pk == access.user_id):
        raise _denied()
    now = timezone.now()
    revoked = list(DevicePassword.objects.filter(access=access, revoked__isnull=True)
                   .values_list("pk", flat=True))
    DevicePassword.objects.filter(pk__in=revoked).update(revoked=now)
    audit.record(actor=actor, action="update", obj=access, verb="access.disconnect_devices",
                 object_repr=f"{access.user.email} on {access.address.email}",
                 after={"revoked_device_passwords": len(revoked)})
    push(access.address.mail_service)
    return len(revoked)


@transaction.atomic
def access_remove(*, actor, access: AddressAccess) -> None:
    """Remove all access: the grant and every device password of that user go."""
    if not manages(actor, access.address):
        raise _denied()
    audit.record(actor=actor, action="delete", obj=access, verb="access.remove",
                 object_repr=f"{access.user.email} on {access.address.email}",
                 before={"user": access.user_id, "permissions": access.permissions})
    service = access.address.mail_service
    access.delete()  # cascades to its device passwords
    push(service)


# --- Invitations -----------------------------------------------------------------------

def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def invitation_url(raw: str) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("mailservice:invitation_accept", args=[raw])


def _send_invitation(invitation, raw):
    context = {"invitation": invitation, "address": invitation.address, "url": invitation_url(raw),
               "days": settings.INVITATION_VALID_DAYS}
    send_mail(
        subject=render_to_string("emails/invitation_subject.txt", context).strip(),
        message=render_to_string("emails/invitation.txt", context),
        from_email=None, recipient_list=[invitation.email],
    )
    invitation.last_sent = timezone.now()
    invitation.send_count += 1
    invitation.save(update_fields=["last_sent", "send_count"])


@transaction.atomic
def invitation_create(*, actor, address: Address, permissions, email: str = "",
                      send: bool = False) -> tuple[Invitation, str]:
    """A single-use link valid 30 days; returns the invitation and the raw token."""
    if not manages(actor, address):
        raise _denied()
    permissions = _clean_permissions(address, permissions)
    if User.objects.filter(email__iexact=address.email).exists():
        raise Conflict(_("%(email)s is the login of an account and cannot be shared.")
                       % {"email": address.email}, code="address_is_login")
    if email:
        email = _clean("email", validators.clean_email, email)
    if send and not email:
        raise ServiceError(_("Give the person's personal e-mail to send the link."),
                           code="invalid", fields={"email": [_("Required to send the link.")]})
    raw = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(address=address, email=email, permissions=permissions,
                                           token_hash=_token_hash(raw), created_by=actor)
    audit.record(actor=actor, action="create", obj=invitation, object_repr=f"invitation to {address.email}",
                 after={"email": email, "permissions": permissions, "expires": str(invitation.expires)})
    if send:
        _send_invitation(invitation, raw)
    return invitation, raw


@transaction.atomic
def invitation_revoke(*, actor, invitation: Invitation) -> Invitation:
    if not manages(actor, invitation.address):
        raise _denied()
    if invitation.status != "pending":
        raise Conflict(_("Only a pending invitation can be revoked."), code="invitation_not_pending")
    invitation.revoked = timezone.now()
    invitation.save(update_fields=["revoked"])
    audit.record(actor=actor, action="update", obj=invitation, verb="invitation.revoke",
                 object_repr=f"invitation to {invitation.address.email}", after={"revoked": True})
    return invitation


@transaction.atomic
def invitation_resend(*, actor, invitation: Invitation) -> tuple[Invitation, str]:
    """E-mail the link again. The stored hash can't give back the token, so a new one is
    issued and the old link stops working. Rate-limited per invitation."""
    if not manages(actor, invitation.address):
        raise _denied()
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
    raw = secrets.token_urlsafe(32)
    invitation.token_hash = _token_hash(raw)
    invitation.save(update_fields=["token_hash", "send_count"])
    _send_invitation(invitation, raw)
    audit.record(actor=actor, action="update", obj=invitation, verb="invitation.resend",
                 object_repr=f"invitation to {invitation.address.email}", after={"sent": invitation.send_count})
    return invitation, raw


def invitation_by_token(raw: str) -> Invitation | None:
    return Invitation.objects.select_related("address__mail_service__organisation").filter(
        token_hash=_token_hash(raw)).first()


@transaction.atomic
def invitation_accept(*, raw_token: str, user) -> AddressAccess:
    invitation = Invitation.objects.select_for_update().filter(token_hash=_token_hash(raw_token)).first()
    if invitation is None:
        raise ServiceError(_("This invitation link is not valid."), code="not_found", status=404)
    status = invitation.status
    if status != "pending":
        messages = {"accepted": _("This invitation has already been used."),
                    "revoked": _("This invitation was revoked."),
                    "expired": _("This invitation has expired.")}
        raise ServiceError(messages[status], code=f"invitation_{status}", status=410)
    address = invitation.address
    _refuse_login_address(address, user)
    organisation_id = address.mail_service.organisation_id
    Membership.objects.get_or_create(organisation_id=organisation_id, user=user,
                                     defaults={"role": Role.MEMBER})
    forget_roles(user)
    access, created = AddressAccess.objects.get_or_create(
        address=address, user=user, defaults={"permissions": invitation.permissions})
    if not created:
        access.permissions = sorted(set(access.permissions) | set(invitation.permissions))
        access.save(update_fields=["permissions"])
    invitation.accepted, invitation.accepted_by = timezone.now(), user
    invitation.save(update_fields=["accepted", "accepted_by"])
    audit.record(actor=user, action="update", obj=invitation, verb="invitation.accept",
                 object_repr=f"invitation to {address.email}", after={"user": user.pk})
    push(address.mail_service)
    return access


# --- Device passwords ------------------------------------------------------------------

def new_device_secret() -> str:
    """160 random bits, in groups a person can type on a phone."""
    raw = secrets.token_hex(20)
    return "-".join(raw[i:i + 8] for i in range(0, 40, 8))


@transaction.atomic
def device_password_create(*, actor, address: Address, name: str, device_type: str = "other",
                           user=None) -> tuple[DevicePassword, str]:
    """A new device password for `user` (default: the actor) on the address. Returns the
    row and the password, which is never stored and never shown again."""
    user = user or actor
    if user.pk != actor.pk and not manages(actor, address):
        raise _denied()
    access = AddressAccess.objects.filter(address=address, user=user).first()
    if access is None:
        raise ServiceError(_("%(email)s is not a user of this address; add them first.")
                           % {"email": user.email}, code="not_a_user", status=403)
    name = (name or "").strip()
    if not name:
        raise ServiceError(_("Name the device."), code="invalid", fields={"name": [_("Required.")]})
    if device_type not in DevicePassword.DeviceType.values:
        raise ServiceError(_("Unknown device type."), code="invalid",
                           fields={"device_type": [_("Unknown device type.")]})
    raw = new_device_secret()
    can_send = Permission.SEND in access.permissions and not address.is_catchall
    device = DevicePassword.objects.create(
        access=access, address=address, name=name[:100], device_type=device_type,
        token_sha256=hashlib.sha256(raw.encode()).hexdigest(), can_send=can_send)
    audit.record(actor=actor, action="create", obj=device,
                 object_repr=f"{name} for {user.email} on {address.email}",
                 after={"name": device.name, "device_type": device_type, "user": user.pk,
                        "can_send": can_send})
    push(address.mail_service)
    return device, raw


@transaction.atomic
def device_password_revoke(*, actor, device: DevicePassword) -> DevicePassword:
    if not (manages(actor, device.address) or actor.pk == device.access.user_id):
        raise _denied()
    if device.revoked is None:
        device.revoked = timezone.now()
        device.save(update_fields=["revoked"])
        audit.record(actor=actor, action="update", obj=device, verb="device_password.revoke",
                     object_repr=f"{device.name} on {device.address.email}", after={"revoked": True})
        push(device.address.mail_service)
    return device


@transaction.atomic
def mail_service_sync(*, actor, service: MailService) -> None:
    """"Push now": queue a full push of the service's desired state."""
    _require(actor, CHANGE, service.organisation_id)
    audit.record(actor=actor, action="other", obj=service, verb="mail_service.sync")
    push(service)

"""Writes on the people of an address: users and their permissions, invitations, device
passwords. Each one audits and leaves a push job in the same transaction."""
import hashlib
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from manager.accounts import services as accounts
from manager.accounts.models import Membership, User, hash_token
from manager.audit import services as audit
from manager.core.errors import Conflict, ServiceError

from ..models import (
    Address,
    AddressAccess,
    DevicePassword,
    Invitation,
    Permission,
)
from ..permissions import DEVICE_PASSWORDS, manages, permission_refused, require_any
from .common import _denied, push

# --- Users of an address ---------------------------------------------------------------

def clean_permissions(address, permissions) -> list[str]:
    permissions = sorted(set(permissions or []))
    unknown = [p for p in permissions if p not in Permission.values]
    if unknown:
        raise ServiceError(_("Unknown permission: %(p)s") % {"p": ", ".join(unknown)},
                           code="invalid_permission", fields={"permissions": [_("Unknown permission.")]})
    if address.is_catchall and Permission.SEND in permissions:
        raise ServiceError(_("The catchall address can never send mail."), code="catchall_cannot_send",
                           fields={"permissions": [_("Sending is not possible from the catchall.")]})
    return permissions


def login_owners(emails) -> dict[str, int]:
    """The accounts whose login is one of `emails`, by lower-cased e-mail (one query)."""
    wanted = {e.lower() for e in emails}
    return dict(User.objects.annotate(login=Lower("email")).filter(login__in=wanted)
                .values_list("login", "pk"))


def refuse_login_address(address_email: str, user_pk: int, owners: dict[str, int]) -> None:
    """An address that is an account's login can't be shared with anyone else."""
    owner = owners.get(address_email.lower())
    if owner is not None and owner != user_pk:
        raise Conflict(_("%(email)s is the login of an account and cannot be shared.")
                       % {"email": address_email}, code="address_is_login")


def _refuse_login_address(address, user):
    refuse_login_address(address.email, user.pk, login_owners([address.email]))


@transaction.atomic
def access_grant(*, actor, address: Address, user, permissions) -> AddressAccess:
    """Add an existing member of the organisation as a user of the address."""
    if not manages(actor, address):
        raise _denied()
    permissions = clean_permissions(address, permissions)
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
    access.permissions = clean_permissions(access.address, permissions)
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
# The link's rules (single use, expiry, bound to the invited e-mail, resending) are the
# platform's, shared with organisation invitations (manager/accounts/services.py).

def invitation_url(raw: str) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("mailservice:invitation_accept", args=[raw])


def _send_invitation(invitation, raw):
    accounts.send_invitation(invitation, url=invitation_url(raw), template="invitation",
                             context={"address": invitation.address,
                                      "organisation": invitation.address.mail_service.organisation})


def _invitation_repr(invitation):
    return f"invitation of {invitation.email} to {invitation.address.email}"


@transaction.atomic
def invitation_create(*, actor, address: Address, permissions, email: str,
                      send: bool = False) -> tuple[Invitation, str]:
    """A single-use link valid INVITATION_VALID_DAYS for the person with `email` (they log
    in with it, or create their account with it); returns the invitation and the raw token.
    Nothing in the answer depends on whether the e-mail has an account."""
    if not manages(actor, address):
        raise _denied()
    permissions = clean_permissions(address, permissions)
    if User.objects.filter(email__iexact=address.email).exists():
        raise Conflict(_("%(email)s is the login of an account and cannot be shared.")
                       % {"email": address.email}, code="address_is_login")
    email = accounts.invited_email(email)
    raw, token_hash = accounts.new_invitation_token()
    invitation = Invitation.objects.create(address=address, email=email, permissions=permissions,
                                           token_hash=token_hash, created_by=actor)
    audit.record(actor=actor, action="create", obj=invitation, object_repr=_invitation_repr(invitation),
                 after={"email": email, "permissions": permissions, "expires": str(invitation.expires)})
    if send:
        _send_invitation(invitation, raw)
    return invitation, raw


@transaction.atomic
def invitation_revoke(*, actor, invitation: Invitation) -> Invitation:
    if not manages(actor, invitation.address):
        raise _denied()
    accounts.revoke_invitation(invitation)
    audit.record(actor=actor, action="update", obj=invitation, verb="invitation.revoke",
                 object_repr=_invitation_repr(invitation), after={"revoked": True})
    return invitation


@transaction.atomic
def invitation_resend(*, actor, invitation: Invitation) -> tuple[Invitation, str]:
    """E-mail a fresh link (the previous one stops working); rate-limited per invitation."""
    if not manages(actor, invitation.address):
        raise _denied()
    raw = accounts.renew_invitation_token(invitation)
    _send_invitation(invitation, raw)
    audit.record(actor=actor, action="update", obj=invitation, verb="invitation.resend",
                 object_repr=_invitation_repr(invitation), after={"sent": invitation.send_count})
    return invitation, raw


def invitation_by_token(raw: str) -> Invitation | None:
    return Invitation.objects.select_related("address__mail_service__organisation", "created_by").filter(
        token_hash=hash_token(raw)).first()


@transaction.atomic
def invitation_accept(*, raw_token: str, user) -> AddressAccess:
    """The invited account (and only it) becomes a user of the address with the invited
    permissions, and a member of the organisation if it was not one."""
    invitation = accounts.invitation_for_update(Invitation, raw_token)
    accounts.check_invitation(invitation, user)
    address = invitation.address
    _refuse_login_address(address, user)
    accounts.join_organisation(user=user, organisation_id=address.mail_service.organisation_id)
    access, created = AddressAccess.objects.get_or_create(
        address=address, user=user, defaults={"permissions": invitation.permissions})
    if not created:
        access.permissions = sorted(set(access.permissions) | set(invitation.permissions))
        access.save(update_fields=["permissions"])
    accounts.mark_accepted(invitation, user)
    audit.record(actor=user, action="update", obj=invitation, verb="invitation.accept",
                 object_repr=_invitation_repr(invitation), after={"user": user.pk})
    push(address.mail_service)
    return access


@transaction.atomic
def invitation_sign_up(*, raw_token: str, full_name: str, password: str) -> AddressAccess:
    """Create the invitee's account from the link (the invited e-mail, no organisation of
    their own) and accept, in one step."""
    invitation = accounts.invitation_for_update(Invitation, raw_token)
    accounts.check_invitation(invitation)
    user = accounts.invitee_sign_up(invitation=invitation, password=password, full_name=full_name)
    return invitation_accept(raw_token=raw_token, user=user)


# --- Device passwords ------------------------------------------------------------------

def new_device_secret() -> str:
    """160 random bits, in groups a person can type on a phone."""
    raw = secrets.token_hex(20)
    return "-".join(raw[i:i + 8] for i in range(0, 40, 8))


def _device_permission_missing(access, *, actor) -> ServiceError | None:
    """A device password reads or sends mail: its user needs one of those permissions."""
    if access is not None and any(access.has(p) for p in DEVICE_PASSWORDS):
        return None
    if access is None or access.user_id == actor.pk:
        return permission_refused(DEVICE_PASSWORDS)
    labels = {"read": Permission.READ.label, "send": Permission.SEND.label}
    message = _("%(email)s needs the “%(read)s” or “%(send)s” permission on this address.") % {
        "email": access.user.email, **labels}
    return ServiceError(message, code="permission_denied", status=403)


def check_users_visible(user, address) -> None:
    """Only organisation managers see who uses an address and with which permissions."""
    if not manages(user, address):
        raise ServiceError(_("Only administrators see the users of an address."),
                           code="permission_denied", status=403)


def check_device_passwords_visible(user, address) -> None:
    """Managers see every device password of the address; a user of the address sees their
    own if they may read or send its mail (the per-address gate, as for client settings)."""
    require_any(user, address, DEVICE_PASSWORDS)


@transaction.atomic
def device_password_create(*, actor, address: Address, name: str, device_type: str = "other",
                           user=None, add_actor_with: list[str] | None = None,
                           ) -> tuple[DevicePassword, str]:
    """A new device password for `user` (default: the actor) on the address. Returns the
    row and the password, which is never stored and never shown again.

    `add_actor_with`: permissions with which an administrator who is not yet a user of the
    address becomes one first (their own password, in the same transaction)."""
    user = user or actor
    if user.pk != actor.pk and not manages(actor, address):
        raise _denied()
    if add_actor_with is not None and user.pk == actor.pk:
        access = access_grant(actor=actor, address=address, user=actor, permissions=add_actor_with)
    else:
        access = AddressAccess.objects.filter(address=address, user=user).select_related("user").first()
    if access is None:
        raise ServiceError(_("%(email)s is not a user of this address; add them first.")
                           % {"email": user.email}, code="not_a_user", status=403)
    error = _device_permission_missing(access, actor=actor)
    if error is not None:
        raise error
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


DEVICE_USE_EVERY_SECONDS = 60  # one write a minute per device is enough for "last used"


def unused_devices(queryset):
    """The active device passwords not used for DEVICE_UNUSED_DAYS (never used: created
    that long ago)."""
    from django.db.models import Q

    since = timezone.now() - timezone.timedelta(days=settings.DEVICE_UNUSED_DAYS)
    return queryset.filter(revoked__isnull=True).filter(
        Q(last_used__lt=since) | Q(last_used__isnull=True, created__lt=since))


@transaction.atomic
def device_passwords_revoke_unused(*, actor, address: Address) -> int:
    """Revoke at once every unused device password of the address the actor may revoke
    (managers: all of them; a user: their own). Returns how many."""
    devices = DevicePassword.objects.filter(address=address)
    if not manages(actor, address):
        devices = devices.filter(access__user=actor)
    unused = list(unused_devices(devices).values_list("pk", "name"))
    if unused:
        DevicePassword.objects.filter(pk__in=[pk for pk, _name in unused]).update(revoked=timezone.now())
        audit.record(actor=actor, action="update", obj=address, verb="device_password.revoke_unused",
                     object_repr=address.email,
                     after={"revoked": sorted(name for _pk, name in unused)})
        push(address.mail_service)
    return len(unused)


def device_password_record_use(device_ref: str, *, ip: str = "", protocol: str = "") -> int:
    """Stamp a device password as used now, from that address with that protocol (a
    successful login the backend reported); at most once a minute per device unless the
    address or protocol changed. Not audited: it is a fact about logins, not a change."""
    import ipaddress

    now = timezone.now()
    try:
        ip = str(ipaddress.ip_address(ip.strip()))
    except ValueError:
        ip = ""
    protocol = protocol.strip().lower()[:16]
    try:
        return DevicePassword.objects.filter(ref=device_ref, revoked__isnull=True).exclude(
            last_used__gt=now - timezone.timedelta(seconds=DEVICE_USE_EVERY_SECONDS),
            last_used_ip=ip, last_used_protocol=protocol,
        ).update(last_used=now, last_used_ip=ip, last_used_protocol=protocol)
    except ValidationError:  # a client-controlled field that is not a UUID
        return 0


# --- Cutting a person off ----------------------------------------------------------------

@transaction.atomic
def person_mail_cut_off(*, actor, user, organisation=None, remove_access: bool = False) -> int:
    """End a person's mail access at once: every device password they hold (on the
    organisation's addresses, or everywhere) is revoked, and with ``remove_access`` their
    grants there go too. Each service is pushed; the backend drops the passdb rows and
    kicks the mailboxes' open IMAP/ManageSieve sessions (doveadm kick), so a client that
    is logged in now is disconnected, not only the next login refused. Returns the number
    of device passwords revoked. Called by the platform's person services, which check
    the actor's rights."""
    accesses = AddressAccess.objects.filter(user=user).select_related("address__mail_service")
    if organisation is not None:
        accesses = accesses.filter(address__mail_service__organisation=organisation)
    accesses = list(accesses)
    devices = DevicePassword.objects.filter(access__in=accesses, revoked__isnull=True)
    revoked = devices.update(revoked=timezone.now())
    services = {access.address.mail_service_id: access.address.mail_service for access in accesses}
    for access in accesses:
        if remove_access:
            audit.record(actor=actor, action="delete", obj=access, verb="access.remove",
                         object_repr=f"{user.email} on {access.address.email}",
                         before={"user": user.pk, "permissions": access.permissions})
            access.delete()
    for service in services.values():
        push(service)
    return revoked

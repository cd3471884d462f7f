"""Writes on signatures: a user completes their own fields, an administrator configures
an address's generic signature, the stamping switches of an address; and the e-mail that
tells a user a new signature is waiting for them."""
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from mailservice.permissions import manages
from mailservice.services.common import push
from manager.audit import services as audit
from manager.core.errors import ServiceError

from .. import fields as f
from .. import render
from ..models import AddressSignatureSettings, Signature
from ..words import value_error
from .common import load_images, profile_of, render_into, require_signature_permission


def editable_keys(design: render.Design) -> list[str]:
    """The fields a user completes: those left to them, and automatic ones they may
    replace (not locked). Never the fixed ones, never the design."""
    return [s.key for s in design.fields if not s.hidden and (
        s.source == f.USER or (s.source == f.AUTO and not s.locked))]


def design_of(signature: Signature) -> render.Design:
    return render.design_from_dict(signature.version.design)


@transaction.atomic
def signature_update(*, actor, signature: Signature, values: dict) -> Signature:
    """The user's own fields (or, for a generic signature, the administrator's). Keys
    outside what the user may complete are refused, typed values checked."""
    address = signature.address
    if signature.is_generic:
        if not manages(actor, address):
            raise ServiceError(_("Only the organisation's administrators configure the generic "
                                 "signature of an address."), code="permission_denied", status=403)
    else:
        require_signature_permission(actor, address)
        if signature.user_id != actor.pk and not manages(actor, address):
            raise ServiceError(_("This is someone else's signature."), code="permission_denied",
                               status=403)
    if not isinstance(values, dict):
        raise ServiceError(_("An object of field values is expected."), code="invalid",
                           fields={"values": [_("An object of field values is expected.")]})
    design = design_of(signature)
    allowed = set(editable_keys(design))
    errors, cleaned = {}, dict(signature.values or {})
    for key, raw in values.items():
        where = f"values.{key}"
        if key not in allowed:
            errors[where] = [_("This field is not yours to complete.")]
            continue
        if not isinstance(raw, str):
            errors[where] = [_("Text is expected.")]
            continue
        if f.FIELDS[key].kind == f.IMAGE:
            ref = raw.strip()
            if ref and not load_images(address.mail_service.organisation_id, {ref}):
                errors[where] = [_("No such image; upload it first.")]
                continue
            cleaned[key] = ref
            continue
        try:
            cleaned[key] = f.clean_value(key, raw)
        except f.InvalidValue as exc:
            errors[where] = [value_error(exc.code)]
    if errors:
        raise ServiceError(" ".join(m for ms in errors.values() for m in ms), code="invalid",
                           fields=errors)
    before = {"values": signature.values, "state": signature.state}
    signature.values = {k: v for k, v in cleaned.items() if v}
    signature.user_done_at = timezone.now()
    rerender(signature)
    signature.save()
    push(address.mail_service)  # the stamped signature changes with it
    audit.record(actor=actor, action="update", obj=signature,
                 object_repr=f"signature of {signature.user or 'generic'} on {address.email}",
                 before=before, after={"values": signature.values, "state": signature.state})
    return signature


def rerender(signature: Signature) -> render.Rendered:
    """Render one signature from its own version (not saved)."""
    design = design_of(signature)
    address = signature.address
    loaded = load_images(address.mail_service.organisation_id,
                         {s.value for s in design.fields if s.value}
                         | {v for v in (signature.values or {}).values() if isinstance(v, str)})
    profile = profile_of(signature.user, address, address.mail_service.organisation.name)
    return render_into(signature, design, profile, loaded)


@transaction.atomic
def stamping_update(*, actor, address, stamping: bool | None = None,
                    on_replies: bool | None = None) -> AddressSignatureSettings:
    """Turn server stamping on or off for the address, and choose whether replies and
    forwards are stamped too (by default only new messages are)."""
    require_signature_permission(actor, address)
    settings_row, _created = AddressSignatureSettings.objects.select_for_update().get_or_create(
        address=address)
    before = {"stamping": settings_row.stamping, "on_replies": settings_row.on_replies}
    if stamping is not None:
        settings_row.stamping = bool(stamping)
    if on_replies is not None:
        settings_row.on_replies = bool(on_replies)
    settings_row.save()
    after = {"stamping": settings_row.stamping, "on_replies": settings_row.on_replies}
    if before != after:
        push(address.mail_service)
        audit.record(actor=actor, action="update", obj=settings_row,
                     object_repr=f"signature settings of {address.email}",
                     before=before, after=after)
    return settings_row


# --- notifications ---------------------------------------------------------------------

def notification_language(user) -> str:
    """The language the person uses the panel in (remembered on their account); the
    site's default when never seen."""
    language = getattr(user, "language", "") or ""
    known = {code for code, _name in settings.LANGUAGES}
    return language if language in known else settings.LANGUAGE_CODE


def notify_users(signatures_by_user: dict) -> int:
    """One e-mail per user, in their language, naming the addresses whose new signature
    waits for them; one SMTP connection for the lot. Returns how many were sent."""
    messages = []
    for user, signatures in signatures_by_user.items():
        if not user.email:
            continue
        with translation.override(notification_language(user)):
            context = {"user": user, "signatures": signatures,
                       "urls": [settings.SITE_URL.rstrip("/") + reverse(
                           "signatures:address", args=[s.address_id]) for s in signatures],
                       "items": [(s.address.email, settings.SITE_URL.rstrip("/") + reverse(
                           "signatures:address", args=[s.address_id])) for s in signatures]}
            subject = render_to_string("emails/signature_ready_subject.txt", context).strip()
            body = render_to_string("emails/signature_ready.txt", context)
        messages.append(EmailMessage(subject=subject, body=body, to=[user.email]))
    if messages:
        get_connection().send_messages(messages)
    return len(messages)

"""Shared helpers of the signature services: the gate, refusals, and how a signature is
rendered from its version, its user's profile and the images it shows."""
import uuid

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from mailservice.models import Permission
from mailservice.permissions import manages, may_on_address, permission_refused
from manager.accounts.roles import CHANGE
from manager.core.errors import ServiceError
from manager.core.permissions import may

from .. import fields as f
from .. import render
from ..models import Signature, SignatureImage


def denied():
    return ServiceError(_("Your role does not allow this action."), code="permission_denied",
                        status=403)


def require_manager(actor, service) -> None:
    """Templates are the organisation managers' (owner, legal representative, admin)."""
    if not may(actor, CHANGE, organisation_id=service.organisation_id):
        raise denied()


def require_signature_permission(actor, address) -> None:
    if not (manages(actor, address) or may_on_address(actor, Permission.MANAGE_SIGNATURE, address)):
        raise permission_refused([Permission.MANAGE_SIGNATURE])


def invalid(field: str, message: str, code: str = "invalid") -> ServiceError:
    return ServiceError(message, code=code, fields={field: [message]})


# --- rendering a signature -------------------------------------------------------------

def profile_of(user, address, organisation_name: str) -> dict[str, str]:
    """What automatic fields take: the person's profile, the address and the company. A
    generic signature (no user) takes the address's display name as its name."""
    full_name = user.full_name if user is not None else address.display_name
    first, last = f.split_full_name(full_name)
    return {"first_name": first, "last_name": last,
            "job_title": user.job_title if user is not None else "",
            "phone": user.phone if user is not None else "",
            "email": address.email, "company": organisation_name}


def image_url(image: SignatureImage) -> str:
    return settings.SITE_URL.rstrip("/") + reverse(
        "signatures:image", args=[image.ref, image.extension])


def image_refs(design: render.Design, values_list) -> set[str]:
    """The image refs a design and some signatures' values name (fixed logo, photos)."""
    refs = {s.value for s in design.fields if f.FIELDS.get(s.key) and
            f.FIELDS[s.key].kind == f.IMAGE and s.value}
    for values in values_list:
        refs |= {v for k, v in values.items() if k in f.FIELDS and f.FIELDS[k].kind == f.IMAGE and v}
    return refs


def load_images(organisation_id, refs) -> dict[str, SignatureImage]:
    """{ref: image} in one query; refs that are not UUIDs of this organisation are ignored."""
    valid = []
    for ref in refs:
        try:
            valid.append(uuid.UUID(str(ref)))
        except ValueError:
            continue
    if not valid:
        return {}
    return {str(i.ref): i for i in SignatureImage.objects.filter(
        organisation_id=organisation_id, ref__in=valid).defer("content")}


def images_for(design: render.Design, values: dict, loaded: dict[str, SignatureImage]):
    """The ImageRefs a signature shows, by field key."""
    out = {}
    for key in ("logo", "photo"):
        spec = design.spec(key)
        if spec is None or spec.hidden:
            continue
        ref = spec.value if spec.source == f.FIXED else (values.get(key) or spec.value
                                                          or spec.fallback)
        image = loaded.get(str(ref)) if ref else None
        if image is not None:
            out[key] = render.ImageRef(image_url(image), image.alt, image.width, image.height)
    return out


def warnings_data(rendered: render.Rendered) -> list[dict]:
    return [{"code": w.code, "key": w.key, "params": dict(w.params)} for w in rendered.warnings]


def render_into(signature: Signature, design: render.Design, profile: dict,
                loaded: dict[str, SignatureImage]) -> render.Rendered:
    """Render the signature from its version's `design` and store the result on the row
    (not saved)."""
    values = {k: v for k, v in (signature.values or {}).items() if isinstance(v, str)}
    rendered = render.render_signature(design, profile=profile, user_values=values,
                                       images=images_for(design, values, loaded),
                                       user_done=signature.user_done_at is not None)
    signature.html, signature.text = rendered.html, rendered.text
    signature.warnings, signature.state = warnings_data(rendered), rendered.state
    return rendered

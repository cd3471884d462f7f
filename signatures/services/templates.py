"""Writes on signature templates: create, edit the draft, publish a version, duplicate,
hide, delete; and the images they show. Each checks the role, validates, and writes its
audit entry in the same transaction."""
from collections.abc import Mapping

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from mailservice.services.common import push
from manager.audit import services as audit
from manager.core.errors import ServiceError

from .. import fields as f
from .. import images as image_codec
from .. import limits, render
from ..models import SignatureImage, SignatureTemplate, SignatureTemplateVersion
from ..words import field_label, image_error, value_error, warning_message
from .common import invalid, load_images, require_manager, require_signature_permission

TEMPLATE_FIELDS = ["name", "layout", "design", "hidden", "for_existing_users"]

# Sample values for the checks on save: what a long but ordinary signature holds.
SAMPLE = {"first_name": "Marie-Christine", "last_name": "de la Fontaine-Dubois",
          "job_title": "Responsable de la communication", "department": "Relations publiques",
          "company": "Entreprise Exemple SA", "phone": "+41 22 123 45 67",
          "mobile": "+41 79 123 45 67", "email": "marie-christine.fontaine@example.com",
          "website": "https://www.example.com/", "postal_address": "Rue du Rhône 100\n1204 Genève",
          "linkedin": "https://www.linkedin.com/in/example", "x": "https://x.com/example",
          "facebook": "https://www.facebook.com/example",
          "instagram": "https://www.instagram.com/example",
          "legal_notice": "Ce message est confidentiel."}


def _snapshot(template):
    return audit.snapshot(template, TEMPLATE_FIELDS)


def _bool(value) -> bool:
    return value is True or value in ("true", "on", "1", 1)


def clean_design(service, *, layout, fields, extra_html="", accent_color=render.DEFAULT_ACCENT,
                 image_width=render.DEFAULT_IMAGE_WIDTH) -> render.Design:
    """The design from plain data, refused with field errors named as the API names them
    (`fields.2.value`)."""
    errors: dict[str, list[str]] = {}
    if layout not in render.LAYOUTS:
        raise invalid("layout", _("Choose one of the layouts."))
    if not isinstance(fields, list) or not fields:
        raise invalid("fields", _("Add at least one field."))
    offered = render.LAYOUT_FIELDS[layout]
    specs: dict[str, render.FieldSpec] = {}
    image_refs = set()
    for index, item in enumerate(fields):
        where = f"fields.{index}"
        if not isinstance(item, Mapping):
            errors[where] = [_("A field is an object with a key and a source.")]
            continue
        key, source = item.get("key"), item.get("source", f.USER)
        if key not in f.FIELDS:
            errors[f"{where}.key"] = [_("Unknown field.")]
            continue
        if key not in offered:
            errors[f"{where}.key"] = [_("“%(field)s” is not part of this layout.") % {
                "field": field_label(key)}]
            continue
        if key in specs:
            errors[f"{where}.key"] = [_("This field is already in the template.")]
            continue
        kind = f.FIELDS[key]
        if source not in f.SOURCES:
            errors[f"{where}.source"] = [_("Choose automatic, fixed or left to the user.")]
            continue
        if source == f.AUTO and kind.profile is None:
            errors[f"{where}.source"] = [_("The profile has no “%(field)s”: fix it or leave it to the user.")
                                         % {"field": field_label(key)}]
            continue
        cleaned = {}
        for part in ("value", "fallback"):
            raw = item.get(part, "")
            if not isinstance(raw, str):
                errors[f"{where}.{part}"] = [_("Text is expected.")]
                continue
            if kind.kind == f.IMAGE:
                cleaned[part] = raw.strip()
                if cleaned[part]:
                    image_refs.add(cleaned[part])
                continue
            try:
                cleaned[part] = f.clean_value(key, raw)
            except f.InvalidValue as exc:
                errors[f"{where}.{part}"] = [value_error(exc.code)]
        if f"{where}.value" in errors or f"{where}.fallback" in errors:
            continue
        if source == f.FIXED and not cleaned["value"]:
            errors[f"{where}.value"] = [_("A fixed field needs its value.")]
            continue
        specs[key] = render.FieldSpec(key=key, source=source,
                                      value=cleaned["value"] if source == f.FIXED or kind.kind == f.IMAGE else "",
                                      fallback=cleaned["fallback"],
                                      locked=_bool(item.get("locked", source == f.FIXED)),
                                      hidden=_bool(item.get("hidden", False)))
    if image_refs:
        known = load_images(service.organisation_id, image_refs)
        for index, item in enumerate(fields):
            if isinstance(item, Mapping) and item.get("key") in ("logo", "photo"):
                for part in ("value", "fallback"):
                    ref = (item.get(part) or "").strip() if isinstance(item.get(part), str) else ""
                    if ref and ref not in known:
                        errors[f"fields.{index}.{part}"] = [_("No such image; upload it first.")]
    if not isinstance(extra_html, str):
        errors["extra_html"] = [_("Text is expected.")]
        extra_html = ""
    elif len(extra_html) > limits.EXTRA_HTML_CHARS:
        errors["extra_html"] = [_("At most %(n)d characters.") % {"n": limits.EXTRA_HTML_CHARS}]
    else:
        unknown = sorted({m for m in render.PLACEHOLDER.findall(extra_html)
                          if m not in render.PLACEHOLDER_KEYS})
        if unknown:
            errors["extra_html"] = [_("Unknown placeholders: %(names)s. Known: %(known)s.") % {
                "names": ", ".join(unknown), "known": ", ".join(render.PLACEHOLDER_KEYS)}]
    if not isinstance(accent_color, str) or not render._COLOR.match(accent_color):
        errors["accent_color"] = [_("A colour such as #1a4f8b.")]
    if isinstance(image_width, bool) or not isinstance(image_width, int) or not (
            16 <= image_width <= limits.IMAGE_DISPLAY_WIDTH_MAX_PX):
        errors["image_width"] = [_("Between 16 and %(max)d pixels.") % {
            "max": limits.IMAGE_DISPLAY_WIDTH_MAX_PX}]
    if errors:
        raise ServiceError(" ".join(m for ms in errors.values() for m in ms), code="invalid",
                           fields=errors)
    ordered = tuple(specs[k] for k in f.FIELDS if k in specs)
    design = render.Design(layout=layout, fields=ordered, extra_html=extra_html,
                           accent_color=accent_color, image_width=image_width)
    _check_limits(service, design)
    return design


def _check_limits(service, design: render.Design) -> None:
    """The checks on save: a signature of this design with long, ordinary values stays
    within the size and width limits."""
    from .common import images_for

    refs = {s.value for s in design.fields if s.key in ("logo", "photo") and s.value}
    loaded = load_images(service.organisation_id, refs)
    values = {k: v for k, v in SAMPLE.items()}
    rendered = render.render_signature(design, profile=values, user_values=values,
                                       images=images_for(design, {}, loaded), user_done=True)
    if rendered.blocking:
        messages = [warning_message({"code": w.code, "key": w.key, "params": dict(w.params)})
                    for w in rendered.blocking]
        raise ServiceError(" ".join(messages), code="signature_too_large", fields={
            "extra_html" if design.extra_html else "fields": messages})


def _name(name) -> str:
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name:
        raise invalid("name", _("Enter a name."))
    if len(name) > limits.TEMPLATE_NAME_CHARS:
        raise invalid("name", _("At most %(n)d characters.") % {"n": limits.TEMPLATE_NAME_CHARS})
    return name


@transaction.atomic
def template_create(*, actor, service, name: str, layout: str, fields: list, extra_html: str = "",
                    accent_color: str = render.DEFAULT_ACCENT,
                    image_width: int = render.DEFAULT_IMAGE_WIDTH,
                    for_existing_users: bool = False, publish: bool = False) -> SignatureTemplate:
    """A template as a draft (or published at once with `publish`)."""
    require_manager(actor, service)
    name = _name(name)
    design = clean_design(service, layout=layout, fields=fields, extra_html=extra_html,
                          accent_color=accent_color, image_width=image_width)
    template = SignatureTemplate.objects.create(
        mail_service=service, name=name, layout=layout, design=render.design_to_dict(design),
        for_existing_users=bool(for_existing_users))
    audit.record(actor=actor, action="create", obj=template, after=_snapshot(template))
    if publish:
        template_publish(actor=actor, template=template)
        template.refresh_from_db()
    return template


@transaction.atomic
def template_update(*, actor, template: SignatureTemplate, name: str | None = None,
                    layout: str | None = None, fields: list | None = None,
                    extra_html: str | None = None, accent_color: str | None = None,
                    image_width: int | None = None, hidden: bool | None = None,
                    for_existing_users: bool | None = None) -> SignatureTemplate:
    """Edit the draft (the published version stays as it is until the next publish),
    hide or show the template again."""
    service = template.mail_service
    require_manager(actor, service)
    template = SignatureTemplate.objects.select_for_update().get(pk=template.pk)
    before = _snapshot(template)
    current = render.design_from_dict(template.design)
    if any(v is not None for v in (layout, fields, extra_html, accent_color, image_width)):
        design = clean_design(
            service, layout=layout if layout is not None else current.layout,
            fields=fields if fields is not None else render.design_to_dict(current)["fields"],
            extra_html=extra_html if extra_html is not None else current.extra_html,
            accent_color=accent_color if accent_color is not None else current.accent_color,
            image_width=image_width if image_width is not None else current.image_width)
        template.design = render.design_to_dict(design)
        template.layout = design.layout
    if name is not None:
        template.name = _name(name)
    if hidden is not None:
        template.hidden = bool(hidden)
    if for_existing_users is not None:
        template.for_existing_users = bool(for_existing_users)
    published = template.current_version.design if template.current_version_id else None
    template.draft_changes = published != template.design
    template.save()
    after = _snapshot(template)
    if before != after:
        audit.record(actor=actor, action="update", obj=template, before=before, after=after)
    return template


@transaction.atomic
def template_publish(*, actor, template: SignatureTemplate):
    """Freeze the draft as a new immutable version; signatures made from now on use it,
    older ones are outdated until regenerated. On the first publish of a template meant
    for the users of existing addresses, signatures are made for them (a job, returned)."""
    require_manager(actor, template.mail_service)
    template = SignatureTemplate.objects.select_for_update().get(pk=template.pk)
    if template.current_version_id and not template.draft_changes:
        return None
    first = not template.current_version_id
    number = (template.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = SignatureTemplateVersion.objects.create(
        template=template, number=number, design=template.design,
        created_by=actor if getattr(actor, "is_authenticated", False) else None)
    before = {"version": template.current_version.number if template.current_version_id else None}
    template.current_version, template.draft_changes = version, False
    template.save(update_fields=["current_version", "draft_changes", "updated"])
    audit.record(actor=actor, action="other", verb="signature_template.publish", obj=template,
                 before=before, after={"version": number, "design": version.design})
    if first and template.for_existing_users:
        from .jobs import job_start

        return job_start(actor=actor, template=template, kind="create_signatures", addresses=None)
    return None


@transaction.atomic
def template_duplicate(*, actor, template: SignatureTemplate) -> SignatureTemplate:
    """A draft copy "… (copy)" to adapt for some people (the guide's "dupliquer")."""
    require_manager(actor, template.mail_service)
    suffix = _(" (copy)")
    copy = SignatureTemplate.objects.create(
        mail_service=template.mail_service,
        name=template.name[:limits.TEMPLATE_NAME_CHARS - len(suffix)] + suffix,
        layout=template.layout, design=template.design, for_existing_users=False)
    audit.record(actor=actor, action="create", obj=copy, after={
        **_snapshot(copy), "duplicate_of": template.pk})
    return copy


@transaction.atomic
def template_delete(*, actor, template: SignatureTemplate) -> int:
    """Delete the template with its versions and signatures; the addresses it was
    active on no longer stamp a signature. Returns how many signatures went with it."""
    require_manager(actor, template.mail_service)
    count = template.signatures.count()
    was_active = template.activations.exists()
    audit.record(actor=actor, action="delete", obj=template,
                 before={**_snapshot(template), "signatures": count})
    service = template.mail_service
    template.delete()
    if was_active:
        push(service)  # the mail stack must stop stamping it
    return count


@transaction.atomic
def image_upload(*, actor, service, data: bytes, alt: str, address=None) -> SignatureImage:
    """Store a logo or a photo, re-encoded. Managers upload for the service's templates;
    a user with "manage signature" on `address` uploads their own photo."""
    if address is not None:
        require_signature_permission(actor, address)
    else:
        require_manager(actor, service)
    alt = (alt or "").strip() if isinstance(alt, str) else ""
    if not alt:
        raise invalid("alt", _("Describe the image (alternative text): it is shown when the "
                               "image is not."), code="alt_required")
    if len(alt) > limits.IMAGE_ALT_CHARS:
        raise invalid("alt", _("At most %(n)d characters.") % {"n": limits.IMAGE_ALT_CHARS})
    try:
        encoded = image_codec.reencode(data)
    except image_codec.ImageRefused as exc:
        raise invalid("file", image_error(exc.code), code="image_refused") from exc
    image = SignatureImage.objects.create(
        organisation_id=service.organisation_id, content=encoded.content,
        content_type=encoded.content_type, width=encoded.width, height=encoded.height, alt=alt,
        created_by=actor if getattr(actor, "is_authenticated", False) else None)
    audit.record(actor=actor, action="create", obj=image, after={
        "ref": str(image.ref), "alt": alt, "width": image.width, "height": image.height,
        "content_type": image.content_type})
    return image

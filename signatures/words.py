"""The signatures' product words in the user's language: field labels, sources, and the
messages of the pure core's codes (typed values, images, rendering warnings)."""
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

FIELD_LABELS = {
    "first_name": gettext_lazy("First name"), "last_name": gettext_lazy("Last name"),
    "job_title": gettext_lazy("Job title"), "department": gettext_lazy("Department"),
    "company": gettext_lazy("Company"), "phone": gettext_lazy("Phone"),
    "mobile": gettext_lazy("Mobile phone"), "email": gettext_lazy("E-mail address"),
    "website": gettext_lazy("Website"), "postal_address": gettext_lazy("Postal address"),
    "linkedin": "LinkedIn", "x": "X", "facebook": "Facebook", "instagram": "Instagram",
    "logo": gettext_lazy("Logo"), "photo": gettext_lazy("Photo"),
    "legal_notice": gettext_lazy("Legal notice"),
}
SOURCE_LABELS = {
    "auto": gettext_lazy("Filled automatically from the profile"),
    "fixed": gettext_lazy("Fixed by the administrator"),
    "user": gettext_lazy("Left to the user"),
}


def field_label(key: str) -> str:
    return str(FIELD_LABELS.get(key, key))


def value_error(code: str) -> str:
    return {
        "too_long": _("Too long."),
        "not_https": _("Enter an https:// address."),
        "invalid_url": _("Enter a valid web address."),
        "invalid_phone": _("Enter a valid phone number (with its country code if it is not Swiss)."),
        "invalid_email": _("Enter a valid e-mail address."),
        "invalid_text": _("One line of text, without control characters."),
    }.get(code, _("Invalid value."))


def image_error(code: str) -> str:
    return {
        "too_large": _("The image is larger than the limit."),
        "svg": _("SVG images are refused: they can carry script and many mail clients do not show them. Upload a PNG or a JPEG."),
        "unsupported_format": _("Only PNG and JPEG images are accepted (WebP, GIF and others are not shown by every mail client)."),
        "unreadable": _("This file is not a readable image."),
        "too_many_pixels": _("The image has too many pixels."),
    }.get(code, _("This image is refused."))


def warning_message(warning: dict) -> str:
    code, key, params = warning["code"], warning.get("key", ""), warning.get("params", {})
    label = field_label(key) if key else ""
    if code == "missing_profile":
        return _("“%(field)s” is missing from the profile and has no fallback.") % {"field": label}
    if code == "waiting_for_user":
        return _("“%(field)s” is waiting for the user.") % {"field": label}
    if code == "invalid_value":
        return _("“%(field)s” is not valid and is left out: %(reason)s") % {
            "field": label, "reason": value_error(params.get("reason", ""))}
    if code == "unknown_placeholder":
        return _("Unknown placeholder {{ %(name)s }}.") % {"name": params.get("name", "")}
    if code == "too_wide":
        return _("The signature is %(width)d pixels wide; at most %(limit)d are allowed.") % params
    if code == "too_large":
        return _("The signature weighs %(bytes)d bytes; at most %(limit)d are allowed.") % params
    if code == "image_not_https":
        return _("The image is not served over https (SITE_URL): mail clients will not show it.")
    return code

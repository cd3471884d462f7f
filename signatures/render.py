"""Signature rendering: one pure function from a template version's design and the field
values to the HTML, the plain text and the warnings (no Django, no ORM).

Nothing here goes through a template engine. Every value is escaped where it is put in
the markup; the administrator's own HTML block gets its `{{ placeholders }}` replaced by
escaped values; then the whole signature is sanitised again with nh3 (a fixed list of
tags, attributes and style properties; only absolute https, mailto: and tel: URLs), so
neither a field value nor a template can carry script, event handlers, relative,
`javascript:` or `data:` URLs. The HTML is a table with inlined CSS (what mail clients
render alike); empty fields vanish with their separators; the plain text starts with the
"-- " delimiter line that mail clients recognise."""
from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import nh3

from . import fields as f
from . import limits

SIMPLE, LOGO, PHOTO_SOCIAL = "simple", "logo", "photo_social"
LAYOUTS = (SIMPLE, LOGO, PHOTO_SOCIAL)
_COMMON = ("first_name", "last_name", "job_title", "department", "company", "phone", "mobile",
           "email", "website", "postal_address", "legal_notice")
LAYOUT_FIELDS: dict[str, tuple[str, ...]] = {
    SIMPLE: _COMMON,
    LOGO: (*_COMMON, "logo"),
    PHOTO_SOCIAL: (*_COMMON, "photo", *f.SOCIAL),
}
DEFAULT_ACCENT = "#1a4f8b"
DEFAULT_IMAGE_WIDTH = 120
SEPARATOR = " · "
DELIMITER = "-- "  # RFC 3676 §4.3: "-- " alone on its line
PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
PLACEHOLDER_KEYS = tuple(k for k, t in f.FIELDS.items() if t.kind != f.IMAGE) + ("full_name",)
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")

# Warning codes. Those in BLOCKING refuse a save; the others are shown.
MISSING_PROFILE = "missing_profile"  # an automatic field without a profile value or fallback
WAITING_FOR_USER = "waiting_for_user"  # a field left to the user, still empty
INVALID_VALUE = "invalid_value"  # a value that fails its type's check (dropped)
UNKNOWN_PLACEHOLDER = "unknown_placeholder"
TOO_LARGE = "too_large"
TOO_WIDE = "too_wide"
IMAGE_NOT_HTTPS = "image_not_https"  # mail clients fetch images over https only
BLOCKING = frozenset({TOO_LARGE, TOO_WIDE})

# Signature states, from its warnings.
COMPLETE, WAITING, MISSING = "complete", "waiting_for_user", "missing_profile_data"


@dataclass(frozen=True)
class FieldSpec:
    """One field of a design: where its value comes from (`source`), the fixed value
    (an image id for images), the fallback used when the value is empty, `locked`: the
    user may not replace an automatic value, `hidden`: kept in the design, not shown."""

    key: str
    source: str = f.USER
    value: str = ""
    fallback: str = ""
    locked: bool = False
    hidden: bool = False


@dataclass(frozen=True)
class Design:
    layout: str = SIMPLE
    fields: tuple[FieldSpec, ...] = ()
    extra_html: str = ""
    accent_color: str = DEFAULT_ACCENT
    image_width: int = DEFAULT_IMAGE_WIDTH

    def spec(self, key: str) -> FieldSpec | None:
        return next((s for s in self.fields if s.key == key), None)


@dataclass(frozen=True)
class ImageRef:
    """An image as shown: its absolute https URL, alt text and display size."""

    url: str
    alt: str
    width: int
    height: int


@dataclass(frozen=True)
class RenderWarning:
    """`key`: the field concerned ("" for the whole signature)."""

    code: str
    key: str = ""
    params: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Rendered:
    html: str
    text: str
    warnings: tuple[RenderWarning, ...]
    width: int

    @property
    def state(self) -> str:
        codes = {w.code for w in self.warnings}
        if MISSING_PROFILE in codes:
            return MISSING
        if WAITING_FOR_USER in codes:
            return WAITING
        return COMPLETE

    @property
    def blocking(self) -> list[RenderWarning]:
        return [w for w in self.warnings if w.code in BLOCKING]


# --- the design as stored data --------------------------------------------------------------

def design_to_dict(design: Design) -> dict:
    return {"layout": design.layout, "extra_html": design.extra_html,
            "accent_color": design.accent_color, "image_width": design.image_width,
            "fields": [{"key": s.key, "source": s.source, "value": s.value,
                        "fallback": s.fallback, "locked": s.locked, "hidden": s.hidden}
                       for s in design.fields]}


def design_from_dict(data: Mapping) -> Design:
    return Design(
        layout=data.get("layout", SIMPLE), extra_html=data.get("extra_html", ""),
        accent_color=data.get("accent_color", DEFAULT_ACCENT),
        image_width=int(data.get("image_width", DEFAULT_IMAGE_WIDTH)),
        fields=tuple(FieldSpec(key=s["key"], source=s.get("source", f.USER),
                               value=s.get("value", ""), fallback=s.get("fallback", ""),
                               locked=bool(s.get("locked")), hidden=bool(s.get("hidden")))
                     for s in data.get("fields", ())))


# --- values: profile, fixed, the user's, fallbacks ------------------------------------------

@dataclass(frozen=True)
class Resolved:
    values: dict[str, str]
    warnings: tuple[RenderWarning, ...]


def resolve(design: Design, *, profile: Mapping[str, str], user_values: Mapping[str, str],
            user_done: bool = False) -> Resolved:
    """Each shown field's value: fixed by the administrator; taken from the profile
    (automatic; the user may replace it unless locked); or the user's. The fallback
    stands in for an empty value. Warnings tell what is missing: profile data (automatic
    fields), or the user's part (while the user has not completed their fields)."""
    values: dict[str, str] = {}
    warnings: list[RenderWarning] = []
    for spec in design.fields:
        if spec.hidden or spec.key not in f.FIELDS:
            continue
        if spec.source == f.FIXED:
            value = spec.value
        elif spec.source == f.AUTO:
            own = "" if spec.locked else user_values.get(spec.key, "")
            value = own or profile.get(spec.key, "")
            if not value and not spec.fallback:
                warnings.append(RenderWarning(MISSING_PROFILE, spec.key))
        else:
            value = user_values.get(spec.key, "")
            if not value and not spec.fallback and not user_done:
                warnings.append(RenderWarning(WAITING_FOR_USER, spec.key))
        values[spec.key] = value or spec.fallback
    return Resolved(values, tuple(warnings))


# --- rendering ------------------------------------------------------------------------------

def _allowed_url(value: str) -> bool:
    parts = urlsplit(value.strip())
    scheme = parts.scheme.lower()
    if scheme == "https":
        return bool(parts.hostname)
    return scheme in ("mailto", "tel") and bool(parts.path)


def _attribute_filter(tag, attribute, value):
    if attribute in ("href", "src"):
        return value if _allowed_url(value) else None
    if attribute == "style" and ("url(" in value.lower() or "expression" in value.lower()):
        return None
    return value


_TAGS = {"table", "tbody", "tr", "td", "a", "img", "span", "div", "p", "br", "strong", "b", "em",
         "i", "u", "small"}
_ATTRIBUTES = {"*": {"style"}, "table": {"cellpadding", "cellspacing", "border", "role", "width"},
               "td": {"width", "colspan", "valign", "align"}, "a": {"href"},
               "img": {"src", "alt", "width", "height"}}
_STYLES = {"color", "background-color", "font-family", "font-size", "font-weight", "font-style",
           "line-height", "text-decoration", "text-align", "vertical-align", "white-space",
           "padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
           "margin", "margin-top", "margin-right", "margin-bottom", "margin-left",
           "border", "border-top", "border-right", "border-bottom", "border-left",
           "border-collapse", "border-radius", "width", "height", "max-width", "display"}


def _cleaner(**extra):
    return nh3.Cleaner(tags=_TAGS, clean_content_tags={"script", "style"}, attributes=_ATTRIBUTES,
                       url_schemes={"https", "mailto", "tel"}, filter_style_properties=_STYLES,
                       link_rel=None, **extra)


# nh3 keeps relative URLs whatever its schemes; the strict cleaner also runs every URL
# through `_allowed_url`. Its Python callback costs more than the rest of the clean, so a
# signature is cleaned by the fast one and cleaned strictly only if a URL attribute is
# left that is not absolute https, mailto: or tel: (the administrator's HTML always is).
_STRICT = _cleaner(attribute_filter=_attribute_filter)
_FAST = _cleaner()
_ABSOLUTE_PREFIXES = ('href="https://', 'href="mailto:', 'href="tel:', 'src="https://')


def _needs_strict(cleaned: str) -> bool:
    """A URL attribute that is not absolute https, mailto: or tel:, or a style that
    fetches (nh3 writes attributes lower-case and double-quoted)."""
    urls = cleaned.count('href="') + cleaned.count('src="')
    if urls != sum(cleaned.count(prefix) for prefix in _ABSOLUTE_PREFIXES):
        return True
    lowered = cleaned.lower()
    return "url(" in lowered or "expression" in lowered


_TEXT_ONLY = nh3.Cleaner(tags=set(), clean_content_tags={"script", "style"})


def sanitise(markup: str) -> str:
    """Markup with only the signature's tags, attributes, style properties and absolute
    https, mailto: and tel: URLs left."""
    cleaned = _FAST.clean(markup)
    return _STRICT.clean(cleaned) if _needs_strict(cleaned) else cleaned


def sanitise_strictly(markup: str) -> str:
    return _STRICT.clean(markup)


def _e(value: str) -> str:
    return html.escape(value, quote=True)


def _link(href: str, label: str, color: str) -> str:
    return (f'<a href="{_e(href)}" style="color:{color};text-decoration:none">{_e(label)}</a>')


def _line(parts: list[str], style: str = "") -> str:
    """One line of the signature; empty parts and their separators are left out, and a
    line with nothing left is no line at all."""
    parts = [p for p in parts if p]
    if not parts:
        return ""
    attribute = f' style="{style}"' if style else ""
    return f"<div{attribute}>{SEPARATOR.join(parts)}</div>"


def _typed(key: str, value: str, warnings: list[RenderWarning]) -> str:
    """The value checked again for its type (a value stored before a rule changed, or a
    profile's): an invalid one is dropped with a warning, never shown as a link."""
    if not value:
        return ""
    try:
        return f.clean_value(key, value)
    except f.InvalidValue as exc:
        warnings.append(RenderWarning(INVALID_VALUE, key, {"reason": exc.code}))
        return ""


def _extra(design: Design, values: Mapping[str, str], warnings: list[RenderWarning]) -> str:
    def substitute(match):
        key = match.group(1)
        if key == "full_name":
            return _e(" ".join(v for v in (values.get("first_name"), values.get("last_name")) if v))
        if key not in PLACEHOLDER_KEYS:
            warnings.append(RenderWarning(UNKNOWN_PLACEHOLDER, "", {"name": key}))
            return ""
        return _e(values.get(key, ""))

    return PLACEHOLDER.sub(substitute, design.extra_html)


_WIDTHS = re.compile(r'width="(\d+)"|(?<![-\w])width:\s*(\d+)px|max-width:\s*(\d+)px')


def _widest(markup: str) -> int:
    return max((int(a or b or c) for a, b, c in _WIDTHS.findall(markup)), default=0)


def render(design: Design, values: Mapping[str, str], images: Mapping[str, ImageRef],
           warnings: tuple[RenderWarning, ...] = ()) -> Rendered:
    """The signature of `values` (resolved: see `resolve`) in `design`; `images` by field
    key (logo, photo). `warnings` from the resolution are carried into the result."""
    notes: list[RenderWarning] = list(warnings)
    offered = LAYOUT_FIELDS.get(design.layout, _COMMON)
    shown = {s.key for s in design.fields if not s.hidden and s.key in offered}
    value = {k: _typed(k, values.get(k, ""), notes) if k in shown else "" for k in f.FIELDS
             if f.FIELDS[k].kind != f.IMAGE}
    accent = design.accent_color if _COLOR.match(design.accent_color or "") else DEFAULT_ACCENT
    text_color = "#333333"
    image_key = {LOGO: "logo", PHOTO_SOCIAL: "photo"}.get(design.layout)
    image = images.get(image_key) if image_key and image_key in shown else None
    if image is not None and not _allowed_url(image.url):
        notes.append(RenderWarning(IMAGE_NOT_HTTPS, image_key))
        image = None

    name = " ".join(v for v in (value["first_name"], value["last_name"]) if v)
    phones = [(p, f.tel_uri(p)) for p in (value["phone"], value["mobile"]) if p]
    email, website = value["email"], value["website"]
    social = [(f.SOCIAL_NAMES[k], value[k]) for k in f.SOCIAL if value.get(k)]

    lines = [
        _line([_e(name)], f"font-size:15px;font-weight:bold;color:{accent}"),
        _line([_e(value["job_title"]), _e(value["department"])]),
        _line([_e(value["company"])], "font-weight:bold"),
        _line([_link(uri, p, text_color) for p, uri in phones]),
        _line([_link("mailto:" + email, email, accent) if email else "",
               _link(website, website.removeprefix("https://").rstrip("/"), accent)
               if website else ""]),
        _line(["<br>".join(_e(x) for x in value["postal_address"].split("\n"))]
              if value["postal_address"] else []),
        _line([_link(url, label, accent) for label, url in social], "padding-top:4px"),
    ]
    body = "".join(line for line in lines if line)
    width = limits.TEXT_COLUMN_PX
    cells = ""
    if image is not None:
        shown_width = max(1, min(design.image_width, limits.IMAGE_DISPLAY_WIDTH_MAX_PX))
        shown_height = max(1, round(image.height * shown_width / max(image.width, 1)))
        radius = "border-radius:50%;" if image_key == "photo" else ""
        cells += (f'<td width="{shown_width}" style="padding:0 16px 0 0;vertical-align:top">'
                  f'<img src="{_e(image.url)}" alt="{_e(image.alt)}" width="{shown_width}" '
                  f'height="{shown_height}" style="display:block;border:0;{radius}"></td>')
        width += shown_width + 16
    cells += f'<td style="vertical-align:top">{body}</td>' if body else ""
    columns = 2 if image is not None and body else 1
    rows = f"<tr>{cells}</tr>" if cells else ""
    if value["legal_notice"]:
        notice = "<br>".join(_e(x) for x in value["legal_notice"].split("\n"))
        rows += (f'<tr><td colspan="{columns}" style="padding-top:8px;font-size:11px;'
                 f'color:#777777">{notice}</td></tr>')
    extra = sanitise_strictly(_extra(design, value, notes)) if design.extra_html.strip() else ""
    if extra.strip():
        rows += f'<tr><td colspan="{columns}" style="padding-top:8px">{extra}</td></tr>'
    markup = ""
    if rows:
        markup = sanitise(
            f'<table cellpadding="0" cellspacing="0" border="0" role="presentation" '
            f'style="border-collapse:collapse;font-family:Arial,Helvetica,sans-serif;'
            f'font-size:13px;line-height:1.4;color:{text_color}">'
            f"<tbody>{rows}</tbody></table>")
    width = max(width, _widest(extra))  # the widths of our own markup are known
    if width > limits.SIGNATURE_WIDTH_MAX_PX:
        notes.append(RenderWarning(TOO_WIDE, "", {"width": width, "limit": limits.SIGNATURE_WIDTH_MAX_PX}))
    size = len(markup.encode())
    if size > limits.SIGNATURE_HTML_BYTES:
        notes.append(RenderWarning(TOO_LARGE, "", {"bytes": size, "limit": limits.SIGNATURE_HTML_BYTES}))

    text_lines = [
        name,
        SEPARATOR.join(v for v in (value["job_title"], value["department"]) if v),
        value["company"],
        SEPARATOR.join(p for p, _uri in phones),
        SEPARATOR.join(v for v in (email, website) if v),
        *value["postal_address"].split("\n"),
        *[f"{label}: {url}" for label, url in social],
        *value["legal_notice"].split("\n"),
        *_plain_lines(extra),
    ]
    kept = [line for line in text_lines if line.strip()]
    text = "\n".join([DELIMITER, *kept]) + "\n" if kept else ""
    return Rendered(markup, text, tuple(notes), width)


def _plain_lines(markup: str) -> list[str]:
    if not markup.strip():
        return []
    spaced = re.sub(r"(?i)<br\s*/?>|</(div|p|tr)>", "\n", markup)
    text = html.unescape(_TEXT_ONLY.clean(spaced))
    return [" ".join(line.split()) for line in text.split("\n")]


def render_signature(design: Design, *, profile: Mapping[str, str], user_values: Mapping[str, str],
                     images: Mapping[str, ImageRef], user_done: bool = False) -> Rendered:
    """`resolve` then `render`: what a signature of a user shows."""
    resolved = resolve(design, profile=profile, user_values=user_values, user_done=user_done)
    return render(design, resolved.values, images, resolved.warnings)

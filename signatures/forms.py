"""Forms of the signature pages: the template's settings, its fields as posted by the
template page (one row per field of the catalogue), a user's own values, stamping."""
from django import forms
from django.utils.translation import gettext_lazy as _

from . import fields as f
from . import limits, render
from .models import SignatureTemplate
from .words import FIELD_LABELS


class TemplateForm(forms.Form):
    name = forms.CharField(label=_("Template name"), max_length=limits.TEMPLATE_NAME_CHARS)
    layout = forms.ChoiceField(label=_("Layout"), choices=SignatureTemplate.Layout.choices)
    accent_color = forms.RegexField(label=_("Accent colour"), regex=r"^#[0-9a-fA-F]{6}$",
                                    initial=render.DEFAULT_ACCENT,
                                    widget=forms.TextInput(attrs={"type": "color"}))
    image_width = forms.IntegerField(label=_("Logo or photo width (pixels)"), min_value=16,
                                     max_value=limits.IMAGE_DISPLAY_WIDTH_MAX_PX,
                                     initial=render.DEFAULT_IMAGE_WIDTH)
    extra_html = forms.CharField(
        label=_("Your own HTML block (optional)"), required=False,
        max_length=limits.EXTRA_HTML_CHARS, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Placeholders such as {{ first_name }} are replaced by the user's values. "
                    "Script, event handlers and links other than https, mailto and tel are removed."))
    for_existing_users = forms.BooleanField(
        label=_("Apply to the users of existing addresses when published"), required=False)


def field_rows(design: render.Design, layout: str, data=None):
    """One row per field of the catalogue for the template page: included or not, its
    source, fixed value, fallback, locked, hidden (from the posted `data` when given)."""
    rows = []
    for key, kind in f.FIELDS.items():
        spec = design.spec(key)
        if data is not None:
            row = {"include": bool(data.get(f"{key}-include")),
                   "source": data.get(f"{key}-source", f.USER),
                   "value": data.get(f"{key}-value", ""), "fallback": data.get(f"{key}-fallback", ""),
                   "locked": bool(data.get(f"{key}-locked")), "hidden": bool(data.get(f"{key}-hidden"))}
        else:
            row = {"include": spec is not None,
                   "source": spec.source if spec else (f.AUTO if kind.profile else f.USER),
                   "value": spec.value if spec else "", "fallback": spec.fallback if spec else "",
                   "locked": spec.locked if spec else False, "hidden": spec.hidden if spec else False}
        sources = [s for s in f.SOURCES if s != f.AUTO or kind.profile]
        rows.append({"key": key, "label": FIELD_LABELS[key], "kind": kind.kind, "sources": sources,
                     "layouts": [name for name, keys in render.LAYOUT_FIELDS.items() if key in keys],
                     **row})
    return rows


def posted_fields(data, layout: str) -> list[dict]:
    """The design's fields from the template page's rows (those offered by the layout)."""
    offered = render.LAYOUT_FIELDS.get(layout, ())
    return [{"key": row["key"], "source": row["source"], "value": row["value"],
             "fallback": row["fallback"], "locked": row["locked"], "hidden": row["hidden"]}
            for row in field_rows(render.Design(), layout, data)
            if row["include"] and row["key"] in offered]


class ImageUploadForm(forms.Form):
    file = forms.FileField(label=_("Image (PNG or JPEG)"))
    alt = forms.CharField(label=_("Alternative text"), max_length=limits.IMAGE_ALT_CHARS,
                          help_text=_("Shown instead of the image when it is not displayed."))


class StampingForm(forms.Form):
    stamping = forms.BooleanField(label=_("The mail server adds this signature to mail sent from this address"),
                                  required=False)
    on_replies = forms.ChoiceField(label=_("Stamp on"), choices=[
        ("new", _("New messages only")), ("replies", _("New messages, replies and forwards"))],
        widget=forms.RadioSelect)

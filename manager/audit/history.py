"""The audit log as a history people read: the object's kind and the field labels in the
user's language, one before → after row per changed field, values in words (lists joined,
Yes/No, "key: value", dates in the active locale), never a Python repr.

`change_rows` is pure (no ORM, no app registry); `labels_for` reads the model's verbose
names once per object type. Verbose names written without gettext (Django's defaults,
"mail service") are looked up in the catalogue when shown."""
import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from django.apps import apps
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext, gettext_lazy, gettext_noop

EMPTY = "—"
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}")

# Verbose names that models leave to Django's default (no gettext in the model), listed so
# that makemessages keeps them in the catalogue: `_translated` looks them up when shown.
DEFAULT_VERBOSE_NAMES = [
    gettext_noop("user"), gettext_noop("organisation"), gettext_noop("membership"),
    gettext_noop("api token"), gettext_noop("mail service"), gettext_noop("address"),
    gettext_noop("alias"), gettext_noop("redirection"), gettext_noop("address access"),
    gettext_noop("invitation"), gettext_noop("device password"), gettext_noop("sorting rule"),
    gettext_noop("rule template"), gettext_noop("created"), gettext_noop("updated"),
    gettext_noop("sieve mode"), gettext_noop("sieve script"), gettext_noop("permissions"),
    gettext_noop("expires"), gettext_noop("last used"), gettext_noop("last sent"),
    gettext_noop("hint"), gettext_noop("can send"), gettext_noop("send count"),
    gettext_noop("created by"), gettext_noop("accepted by"), gettext_noop("access"),
]

# Keys that services record but that are no field of the model.
EXTRA_LABELS = {
    "rule_order": gettext_lazy("rule order"),
    "revoked_device_passwords": gettext_lazy("device passwords revoked"),
    "folder": gettext_lazy("folder"),
    "sent": gettext_lazy("times sent"),
    "differences": gettext_lazy("differences"),
}


@dataclass(frozen=True)
class ChangeRow:
    """One field of one entry. `kind`: "set" (no value before: created, or first set),
    "cleared" (no value after: deleted) or "changed" (before → after)."""

    field: str
    label: str
    before: str
    after: str
    kind: str
    multiline: bool = False


def format_value(value, choices: Mapping | None = None) -> str:
    """A stored value in words."""
    choices = choices or {}
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, list | tuple):
        parts = [format_value(item, choices) for item in value]
        return ("; " if any(isinstance(item, dict) for item in value) else ", ").join(parts)
    if isinstance(value, dict):
        # Sorted: PostgreSQL's jsonb does not keep the order the keys were written in.
        return ", ".join(f"{key}: {format_value(item, choices)}"
                         for key, item in sorted(value.items()))
    if isinstance(value, str) and _ISO_DATETIME.match(value):
        try:
            moment = datetime.datetime.fromisoformat(value)
        except ValueError:
            return value
        if timezone.is_aware(moment):
            moment = timezone.localtime(moment)
        return formats.date_format(moment, "SHORT_DATETIME_FORMAT")
    try:
        return str(choices.get(value, value))
    except TypeError:  # an unhashable value
        return str(value)


def default_label(field: str) -> str:
    return capfirst(field.replace("_", " "))


def change_rows(before: Mapping | None, after: Mapping | None, *,
                labels: Mapping | None = None, choices: Mapping | None = None) -> list[ChangeRow]:
    """The fields whose value differs between `before` and `after`, in their order, each
    with its label (`labels`, else the key in words) and its values in words (`choices`:
    {field: {value: label}})."""
    before, after = before or {}, after or {}
    labels, choices = labels or {}, choices or {}
    rows = []
    for field in dict.fromkeys([*before, *after]):
        old, new = before.get(field), after.get(field)
        if old == new:
            continue
        shown_old, shown_new = (format_value(v, choices.get(field)) for v in (old, new))
        kind = ("set" if shown_old == EMPTY else "cleared" if shown_new == EMPTY else "changed")
        rows.append(ChangeRow(field, str(labels.get(field) or default_label(field)),
                              shown_old, shown_new, kind,
                              multiline="\n" in shown_old or "\n" in shown_new))
    return rows


def stored_pairs(changes) -> tuple[dict, dict]:
    """An entry's `changes` ({field: [before, after]}) as the before and after snapshots."""
    before, after = {}, {}
    for field, pair in (changes or {}).items():
        if isinstance(pair, list | tuple) and len(pair) == 2:
            before[field], after[field] = pair
        else:  # not a pair: a value recorded as it was
            after[field] = pair
    return before, after


def _translated(name) -> str:
    return capfirst(gettext(str(name)))


@lru_cache(maxsize=64)
def _model(object_type: str):
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


def object_label(object_type: str) -> str:
    """"Mail service" (in the user's language) for "mailservice.mailservice"."""
    model = _model(object_type)
    return _translated(model._meta.verbose_name) if model else object_type


def labels_for(object_type: str) -> tuple[dict, dict]:
    """({field: label}, {field: {value: label}}) of an object type, in the active language."""
    labels = {key: capfirst(str(label)) for key, label in EXTRA_LABELS.items()}
    choices = {}
    model = _model(object_type)
    for field in model._meta.get_fields() if model else []:
        if getattr(field, "verbose_name", None) is None:
            continue
        labels[field.name] = _translated(field.verbose_name)
        if getattr(field, "flatchoices", None):
            choices[field.name] = {value: str(label) for value, label in field.flatchoices}
    return labels, choices


def entry_rows(entry) -> list[ChangeRow]:
    before, after = stored_pairs(entry.changes)
    labels, choices = labels_for(entry.object_type)
    return change_rows(before, after, labels=labels, choices=choices)

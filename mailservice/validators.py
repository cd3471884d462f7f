"""Pure checks of local parts, domains, e-mail targets and time zones (no ORM)."""
import functools
import re
import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

# A conservative subset of RFC 5322 dot-atom text: what every client and MTA handles.
_LOCAL_PART = re.compile(r"^[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
RESERVED_LOCAL_PARTS = frozenset({"mailer-daemon", "root", "nobody", "daemon", "www-data"})


def clean_local_part(value: str) -> str:
    """Lower-cased local part, or ValidationError with code `invalid_local_part`/`reserved`."""
    value = (value or "").strip().lower()
    if not value:
        raise ValidationError(_("Enter the part before the @."), code="invalid_local_part")
    if len(value) > 64:
        raise ValidationError(_("At most 64 characters before the @ (RFC 5321)."),
                              code="invalid_local_part")
    if not _LOCAL_PART.match(value) or ".." in value:
        raise ValidationError(
            _("Use letters, digits, dots, hyphens and underscores; no dot at the start, the "
              "end or twice in a row."), code="invalid_local_part")
    if value in RESERVED_LOCAL_PARTS:
        raise ValidationError(_("“%(value)s” is reserved.") % {"value": value}, code="reserved")
    return value


def _real_a_label(label: str) -> bool:
    """A label with "--" in third and fourth place is reserved for IDNA: it must be an
    A-label ("xn--…") that decodes to Unicode and encodes back to itself ("xn--zz" does
    not: no DNS registry would hold it)."""
    if not label.startswith("xn--"):
        return False
    try:
        return label.encode("ascii").decode("idna").encode("idna").decode("ascii") == label
    except UnicodeError:
        return False


def clean_domain(value: str) -> str:
    value = (value or "").strip().lower().rstrip(".")
    try:
        value = value.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValidationError(_("Not a valid domain name."), code="invalid_domain") from exc
    labels = value.split(".")
    if len(value) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise ValidationError(_("Not a valid domain name."), code="invalid_domain")
    if not all(_real_a_label(label) for label in labels if label[2:4] == "--"):
        raise ValidationError(_("Not a valid domain name."), code="invalid_domain")
    if labels[-1].isdigit():
        raise ValidationError(_("Not a valid domain name."), code="invalid_domain")
    return value


def clean_email(value: str) -> str:
    value = (value or "").strip()
    local, _sep, domain = value.rpartition("@")
    if not local:
        raise ValidationError(_("Enter a valid e-mail address."), code="invalid_email")
    value = f"{local}@{clean_domain(domain)}".lower()
    validate_email(value)
    return value


@functools.cache
def time_zone_names() -> frozenset[str]:
    """The IANA time zones this machine knows (read from disk once)."""
    return frozenset(zoneinfo.available_timezones())

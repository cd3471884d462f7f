"""The header viewer's input: size and kind checked, then read by the pure core."""
import re
import zoneinfo

from django.conf import settings
from django.utils.translation import gettext as _

from manager.core.errors import ServiceError

from .. import headers
from ..limits import ANALYSED_MESSAGE_BYTES


def check_size(size: int, limit: int, field: str) -> None:
    if size > limit:
        message = _("The message is larger than %(limit)s bytes.") % {"limit": limit}
        raise ServiceError(message, code="too_large", fields={field: [message]}, status=413)


# A message starts with a header field: a name of printable characters, a colon (RFC 5322
# §2.2), or the mbox "From " line some clients save first.
_FIRST_HEADER = re.compile(rb"^(?:From [^\r\n]*\r?\n)?[!-9;-~]+[ \t]*:")


def check_message(raw: bytes, field: str = "message", *, limit: int = ANALYSED_MESSAGE_BYTES) -> bytes:
    """The bytes, if they are a message (or its headers) within the limit; else a 400
    `not_a_message` (a picture, a PDF, an empty file) or a 413 `too_large`."""
    check_size(len(raw), limit, field)
    if not _FIRST_HEADER.match(raw.lstrip(b"\r\n")):
        message = _("This is not an e-mail message: it does not start with a header such as “From:”.")
        raise ServiceError(message, code="not_a_message", fields={field: [message]})
    return raw


def time_zone(name: str | None):
    """The zone the person asked for (their browser's), else the installation's."""
    if name:
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def analyse_message(raw: bytes, *, zone_name: str | None = None, field: str = "message") -> dict:
    zone = time_zone(zone_name)
    result = headers.analyse(check_message(raw, field), zone=zone,
                             ours=frozenset(settings.MAIL_AUTHSERV_IDS))
    result["time_zone"] = str(zone)
    return result


# What browsers and mail clients call a saved message; anything else (an image, a PDF, a
# document) is refused before it is read.
MESSAGE_TYPES = frozenset({"", "message/rfc822", "message/global", "text/plain", "text/rfc822-headers",
                           "application/octet-stream", "application/x-eml"})


def upload_bytes(upload, field: str = "message", *, limit: int = ANALYSED_MESSAGE_BYTES) -> bytes:
    """An uploaded .eml's bytes: its size checked before it is read, its declared type and
    its first line checked after."""
    check_size(upload.size, limit, field)
    declared = (getattr(upload, "content_type", "") or "").split(";")[0].strip().lower()
    if declared not in MESSAGE_TYPES:
        message = _("This is not an e-mail message (%(type)s): upload an .eml file.") % {"type": declared}
        raise ServiceError(message, code="not_a_message", fields={field: [message]})
    return check_message(upload.read(), field, limit=limit)

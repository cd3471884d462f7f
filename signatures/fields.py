"""The fields a signature template can show, their types, and the checks of typed values
(pure: no Django). Phone numbers are normalised to the international format with the
`phonenumbers` library; URLs must be absolute https; e-mail addresses are checked for
their shape. Refusals are `InvalidValue` with a code the Django side turns into words."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import phonenumbers

from . import limits

TEXT, MULTILINE, URL, PHONE, EMAIL, IMAGE = "text", "multiline", "url", "phone", "email", "image"
AUTO, FIXED, USER = "auto", "fixed", "user"
SOURCES = (AUTO, FIXED, USER)


@dataclass(frozen=True)
class FieldType:
    key: str
    kind: str
    # The profile value an automatic field takes (None: the profile has no such value,
    # the field can only be fixed or left to the user).
    profile: str | None = None


FIELDS: dict[str, FieldType] = {f.key: f for f in (
    FieldType("first_name", TEXT, "first_name"),
    FieldType("last_name", TEXT, "last_name"),
    FieldType("job_title", TEXT, "job_title"),
    FieldType("department", TEXT),
    FieldType("company", TEXT, "company"),
    FieldType("phone", PHONE, "phone"),
    FieldType("mobile", PHONE),
    FieldType("email", EMAIL, "email"),
    FieldType("website", URL),
    FieldType("postal_address", MULTILINE),
    FieldType("linkedin", URL),
    FieldType("x", URL),
    FieldType("facebook", URL),
    FieldType("instagram", URL),
    FieldType("logo", IMAGE),
    FieldType("photo", IMAGE),
    FieldType("legal_notice", MULTILINE),
)}
SOCIAL = ("linkedin", "x", "facebook", "instagram")
SOCIAL_NAMES = {"linkedin": "LinkedIn", "x": "X", "facebook": "Facebook",
                "instagram": "Instagram"}
# The region a national number without a country code is read in (the host's).
DEFAULT_REGION = "CH"


class InvalidValue(ValueError):
    """`code`: too_long, not_https, invalid_url, invalid_phone, invalid_email."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def max_chars(kind: str) -> int:
    return limits.MULTILINE_VALUE_CHARS if kind == MULTILINE else limits.FIELD_VALUE_CHARS


def clean_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme.lower() != "https":
        raise InvalidValue("not_https")
    host = parts.hostname or ""
    if not host or "." not in host or any(c.isspace() for c in value) or parts.username:
        raise InvalidValue("invalid_url")
    return value


@lru_cache(maxsize=16384)
def clean_phone(value: str, region: str = DEFAULT_REGION) -> str:
    """"+41 22 123 45 67": the international format (what `tel:` links and every client
    abroad understand). Cached: parsing is the costliest check of a signature, and a
    company's numbers repeat across its people."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise InvalidValue("invalid_phone") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidValue("invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def tel_uri(international: str) -> str:
    """tel:+41221234567 (RFC 3966, no visual separators)."""
    return "tel:" + "".join(ch for ch in international if ch.isdigit() or ch == "+")


_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def clean_email(value: str) -> str:
    local, at, domain = value.rpartition("@")
    if not at or not local or len(value) > 254 or not _LOCAL.match(local) or ".." in local \
            or local.startswith(".") or local.endswith("."):
        raise InvalidValue("invalid_email")
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidValue("invalid_email") from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise InvalidValue("invalid_email")
    return f"{local}@{domain.lower()}"


def clean_value(key: str, value: str) -> str:
    """The stored form of a typed value ("" stays ""); raises `InvalidValue`."""
    kind = FIELDS[key].kind
    value = (value or "").strip() if kind != MULTILINE else (value or "").strip("\n ")
    if not value:
        return ""
    if kind != MULTILINE and ("\n" in value or "\r" in value):
        raise InvalidValue("invalid_text")
    if "\x00" in value:
        raise InvalidValue("invalid_text")
    if len(value) > max_chars(kind):
        raise InvalidValue("too_long")
    if kind == URL:
        return clean_url(value)
    if kind == PHONE:
        return clean_phone(value)
    if kind == EMAIL:
        return clean_email(value)
    return value.replace("\r\n", "\n")


def split_full_name(full_name: str) -> tuple[str, str]:
    """("Anne-Marie", "de la Tour") from "Anne-Marie de la Tour": the first word is the
    first name, the rest the last name (what profiles with one name field allow)."""
    words = (full_name or "").split()
    if not words:
        return "", ""
    return words[0], " ".join(words[1:])

"""Domain names as people read them: an internationalised domain is stored in its ASCII
form (`xn--…`); pages show it in Unicode with the ASCII form beside it, so that a look-alike
(a Cyrillic "а" for a Latin "a") stays visible. `{% load idn %}`, then
`{{ service.domain|idn }}` in HTML or `{{ address.email|idn_unicode }}` in a title."""
from django import template
from django.utils.html import format_html

register = template.Library()


def to_unicode(name: str) -> str:
    """`münchen.example` for `xn--mnchen-3ya.example` (an e-mail address's domain too);
    the name unchanged when it is not an IDN or does not decode."""
    local, at, domain = name.rpartition("@")
    if "xn--" not in domain.lower():
        return name
    try:
        return f"{local}{at}{domain.lower().encode('ascii').decode('idna')}"
    except UnicodeError:
        return name


@register.filter
def idn(value):
    """HTML: the Unicode name, then the ASCII form in a <small> (only for an IDN)."""
    text = "" if value is None else str(value)
    readable = to_unicode(text)
    if readable == text:
        return text
    return format_html('<bdi class="idn">{}</bdi> <small class="punycode">({})</small>', readable, text)


@register.filter
def idn_unicode(value):
    """Text: the Unicode name only (titles, attributes, screen-reader labels)."""
    return to_unicode("" if value is None else str(value))

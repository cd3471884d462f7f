"""The Content-Security-Policy every response carries (ContentSecurityPolicyMiddleware)."""
from functools import wraps


def content_security_policy(nonce: str, *, style_attributes: bool = False) -> str:
    """Scripts and styles from this site or carrying this response's nonce; no inline
    handler, `style=` attribute or eval (htmx is told not to need them: base.html).

    `style_attributes`: the one exception, for pages that show an e-mail signature as it
    will look (its HTML is made for mail clients, styled by `style=` attributes only).
    Attributes only: no <style> element, no script, and their url()s still need img-src."""
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        f"style-src 'self' 'nonce-{nonce}'",
        *(["style-src-attr 'unsafe-inline'"] if style_attributes else []),
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def shows_mail_html(view):
    """A view whose page shows e-mail HTML (a signature) with its inline styles."""
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        request.csp_style_attributes = True
        return view(request, *args, **kwargs)
    return wrapped

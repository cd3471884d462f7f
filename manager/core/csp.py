"""The Content-Security-Policy every response carries (ContentSecurityPolicyMiddleware),
and the one a framed e-mail document carries instead (MAIL_HTML_FRAME_POLICY)."""


def content_security_policy(nonce: str) -> str:
    """Scripts and styles from this site or carrying this response's nonce; no inline
    handler, `style=` attribute or eval (htmx is told not to need them: base.html).
    No exception for any page: e-mail HTML is shown in a sandboxed frame of its own."""
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        f"style-src 'self' 'nonce-{nonce}'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


# A signature's HTML is made for mail clients, styled by `style=` attributes only. It is
# shown as a document of its own in an <iframe sandbox> of our pages, under this policy:
# its inline styles apply, but nothing else runs or loads (no script, font, form or
# connection; images as mail clients get them, https or data:), the `sandbox` directive
# gives it an opaque origin even when opened outside the frame, and only our own pages
# may frame it. The pages around it keep the strict policy above.
MAIL_HTML_FRAME_POLICY = "; ".join([
    "default-src 'none'",
    "style-src 'unsafe-inline'",
    "img-src data: https:",
    "sandbox",
    "frame-ancestors 'self'",
])

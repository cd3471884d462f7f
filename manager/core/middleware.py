"""Request id, htmx cache-safety, trusted proxy headers and Content-Security-Policy middleware."""
import re

from django.utils.cache import patch_vary_headers

from .context import new_request_id, set_request_id

_SAFE_ID = re.compile(r"^[A-Za-z0-9_.-]{8,64}$")


class RequestIdMiddleware:
    """Gives every request an id (or keeps a sane incoming X-Request-ID) for the audit log."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if _SAFE_ID.match(incoming) else new_request_id()
        set_request_id(request.request_id)
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response


class HtmxVaryMiddleware:
    """Partials and full pages share URLs: caches must key on HX-Request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        patch_vary_headers(response, ("HX-Request",))
        return response


class TrustedProxyHeadersMiddleware:
    """X-Forwarded-Proto is believed only from TRUSTED_PROXIES: anyone else's is dropped
    before SecurityMiddleware (SECURE_PROXY_SSL_HEADER) reads it, so a client talking plain
    HTTP straight to the server cannot claim HTTPS and dodge the redirect."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from manager.security.services import is_trusted_proxy

        if "HTTP_X_FORWARDED_PROTO" in request.META and not is_trusted_proxy(
                request.META.get("REMOTE_ADDR", "")):
            del request.META["HTTP_X_FORWARDED_PROTO"]
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """A fresh nonce per request (`request.csp_nonce`, `{{ csp_nonce }}` in templates) and
    the policy on every answer that does not set its own (a view that does, e.g. a framed
    signature with MAIL_HTML_FRAME_POLICY, keeps it, enforced even in report-only mode)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        import secrets

        from django.conf import settings

        request.csp_nonce = secrets.token_urlsafe(18)
        response = self.get_response(request)
        from .csp import content_security_policy

        header = ("Content-Security-Policy-Report-Only" if settings.CSP_REPORT_ONLY
                  else "Content-Security-Policy")
        if "Content-Security-Policy" not in response and header not in response:
            response[header] = content_security_policy(request.csp_nonce)
        return response

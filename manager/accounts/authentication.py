"""`Authorization: Bearer <token>` for the API."""
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from manager.security import services as bans

from . import auth_limits
from .models import ApiToken, hash_token
from .token_lookup import active_token


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if parts[0] != self.keyword:
            return None
        ip = auth_limits.client_ip(request)
        if auth_limits.refused("token", ip=ip):
            raise exceptions.Throttled(detail=auth_limits.wait_message())
        if len(parts) != 2:
            auth_limits.count("token", ip=ip)
            bans.record_failure(ip, protocol="api")
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        # One query: the token, its user and whether a ban from this address applies.
        token = active_token(hash_token(parts[1]), ip)
        if token is None or not token.user.is_active:
            auth_limits.count("token", ip=ip)
            # A token names no account: its failures are counted for the network as a
            # whole, and past the limit every token from there is refused.
            bans.record_failure(ip, protocol="api")
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        if getattr(token, "banned", False) and bans.active_ban(ip, token.user.email) is not None:
            # The network is banned, or the account from there (its password was guessed
            # at). The ban is read with the token, in its query; the allow-list only when a
            # ban applies. Bad tokens from a banned network are not counted (record_failure).
            raise exceptions.Throttled(detail=auth_limits.wait_message())
        now = timezone.now()
        # Touch at most once a minute: a write per request would serialise busy clients.
        if token.last_used is None or (now - token.last_used).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used=now)
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Documents the bearer token in the OpenAPI schema."""

    target_class = "manager.accounts.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "A personal API token created in the UI (Organisation → API tokens)."}

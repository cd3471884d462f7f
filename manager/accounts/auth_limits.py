"""The first line against guessing: failed authentications (web login, API tokens,
invitation links) and password-reset requests are counted per account and per client IP
in a fixed window; past a limit, further attempts are refused with 429 until the window
ends. Retrying while refused counts nothing more, so it never extends the wait. The
limits are settings (AUTH_LIMITS). Bans across web, API and mail logins
(manager/security) come on top of this.

Counters live in Django's cache: with the default per-process cache each worker process
counts apart, so a deployment with several processes sets a shared cache (Redis)."""
import hashlib

from django.conf import settings
from django.core.cache import cache


def client_ip(request) -> str:
    # One rule for every counter: X-Forwarded-For only from TRUSTED_PROXIES.
    from manager.security.services import client_ip as trusted_client_ip

    return trusted_client_ip(request)


def _key(kind: str, scope: str, value: str) -> str:
    digest = hashlib.sha256(value.strip().lower().encode("utf-8", "replace")).hexdigest()[:32]
    return f"auth-limit:{kind}:{scope}:{digest}"


def _scopes(kind, account, ip):
    limits = settings.AUTH_LIMITS[kind]
    if account:
        yield _key(kind, "account", account), limits["per_account"]
    if ip:
        yield _key(kind, "ip", ip), limits["per_ip"]


def refused(kind: str, *, account: str | None = None, ip: str | None = None) -> bool:
    """Has the account or the IP used up its attempts of this kind for the window?"""
    return any((cache.get(key) or 0) >= limit for key, limit in _scopes(kind, account, ip))


def count(kind: str, *, account: str | None = None, ip: str | None = None) -> None:
    """One more failure (or request, for password resets)."""
    window = settings.AUTH_LIMITS[kind]["window_seconds"]
    for key, _limit in _scopes(kind, account, ip):
        if cache.add(key, 1, timeout=window):
            continue
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=window)


def forget(kind: str, *, account: str) -> None:
    """A success: the account's failures no longer count (the IP's still do)."""
    cache.delete(_key(kind, "account", account))


def wait_message() -> str:
    from django.utils.translation import gettext

    return gettext("Too many attempts. Wait a few minutes, then try again.")

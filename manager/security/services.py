"""The one ban service of web login, API token authentication and mail logins (Dovecot
asks it as its auth policy server, so IMAP, ManageSieve and SMTP AUTH are covered).

Counting goes (network, account) first: BANS["account_failures"] failures of one account
from one network within the window ban that account from that network. The whole network
is banned only for spraying: failures for BANS["spray_accounts"] different accounts.
While a ban holds, attempts are refused without being counted, so retrying never extends
it. The counts are rows in the database, shared by every web process (Dovecot's policy
requests reach any of them)."""
import ipaddress
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from manager.audit import services as audit

from .models import AuthFailure, Ban


def network_of(ip: str) -> str | None:
    """The network an address is counted in: itself for IPv4, its /64 for IPv6."""
    try:
        address = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    prefix = 64 if address.version == 6 else 32
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def _trusted_proxies():
    return [ipaddress.ip_network(n.strip(), strict=False)
            for n in settings.TRUSTED_PROXIES if n.strip()]


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, unless that is one of TRUSTED_PROXIES; then the
    last X-Forwarded-For entry that is not itself a trusted proxy. Entries left of it
    are the client's own words and never count, so a forged header changes nothing."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = _trusted_proxies()

    def trusted(value):
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return False
        return any(address in net for net in proxies)

    if not proxies or not trusted(remote):
        return remote or "unknown"
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not trusted(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return remote  # garbage from the client side of the proxy
    return remote


def active_ban(ip: str, account: str = "") -> Ban | None:
    """The ban that refuses this account (or any account) from this address now."""
    network = network_of(ip)
    if network is None:
        return None
    accounts = {"", (account or "").strip().lower()}
    return (Ban.objects.filter(network=network, account__in=accounts, lifted_at__isnull=True,
                               expires__gt=timezone.now()).order_by("-expires").first())


@transaction.atomic
def record_failure(ip: str, account: str = "", *, protocol: str) -> Ban | None:
    """Count one failed authentication; returns the ban it caused, if any."""
    network = network_of(ip)
    if network is None:
        return None
    account = (account or "").strip().lower()[:254]
    if active_ban(ip, account) is not None:
        return None  # refused anyway; counting it would only extend the ban
    limits, now = settings.BANS, timezone.now()
    AuthFailure.objects.create(network=network, account=account, protocol=protocol[:16], time=now)
    AuthFailure.objects.filter(time__lt=now - timedelta(
        seconds=max(limits["account_window_seconds"], limits["spray_window_seconds"]))).delete()
    until = now + timedelta(seconds=limits["ban_seconds"])
    recent = AuthFailure.objects.filter(network=network)
    spread = (recent.filter(time__gte=now - timedelta(seconds=limits["spray_window_seconds"]))
              .exclude(account="").values("account").distinct().count())
    if spread >= limits["spray_accounts"]:
        return Ban.objects.create(network=network, account="", reason=Ban.Reason.SPRAYING,
                                  protocol=protocol, created=now, expires=until)
    failures = recent.filter(account=account, time__gte=now - timedelta(
        seconds=limits["account_window_seconds"])).count()
    if failures >= limits["account_failures"]:
        return Ban.objects.create(network=network, account=account, reason=Ban.Reason.FAILURES,
                                  protocol=protocol, created=now, expires=until)
    return None


def forget_failures(ip: str, account: str) -> None:
    """A success: that account's failures from that network no longer count."""
    network = network_of(ip)
    if network is not None and account:
        AuthFailure.objects.filter(network=network, account=account.strip().lower()).delete()


def bans_affecting(organisation) -> "list[Ban]":
    """Active bans of the organisation's addresses and members' logins, and the whole
    network bans of networks whose failures named one of them."""
    from mailservice.models import Address
    from manager.accounts.models import Membership

    addresses = [a.email.lower() for a in Address.objects.filter(
        mail_service__organisation=organisation).select_related("mail_service")]
    logins = [e.lower() for e in Membership.objects.filter(organisation=organisation)
              .values_list("user__email", flat=True)]
    accounts = set(addresses) | set(logins)
    sprayed = AuthFailure.objects.filter(account__in=accounts).values("network")
    return list(Ban.objects.filter(lifted_at__isnull=True, expires__gt=timezone.now()).filter(
        Q(account__in=accounts) | Q(account="", network__in=sprayed)))


@transaction.atomic
def ban_lift(*, actor, organisation, ban: Ban) -> Ban:
    """Lift a ban that affects the organisation (its admins' right, audited)."""
    from django.utils.translation import gettext as _

    from manager.accounts.roles import CHANGE
    from manager.core.errors import ServiceError
    from manager.core.permissions import may

    if not may(actor, CHANGE, organisation_id=organisation.pk):
        raise ServiceError(_("Your role does not allow this action."), code="permission_denied",
                           status=403)
    if ban.pk not in {b.pk for b in bans_affecting(organisation)}:
        raise ServiceError(_("Not found."), code="not_found", status=404)
    ban.lifted_at, ban.lifted_by = timezone.now(), actor
    ban.save(update_fields=["lifted_at", "lifted_by"])
    AuthFailure.objects.filter(network=ban.network, **({"account": ban.account} if ban.account else {})).delete()
    audit.record(actor=actor, action="update", obj=ban, organisation=organisation, verb="ban.lift",
                 object_repr=str(ban), after={"lifted": True})
    return ban

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
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Lower
from django.utils import timezone

from manager.audit import services as audit

from .models import AllowedNetwork, AuthFailure, Ban


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


def is_trusted_proxy(value: str) -> bool:
    """Whether an address is one of TRUSTED_PROXIES (whose forwarded headers are believed)."""
    try:
        address = ipaddress.ip_address((value or "").strip())
    except ValueError:
        return False
    return any(address in net for net in _trusted_proxies())


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


# The warning an owner or administrator accepts before allow-listing a network (after the
# seed's IP-ban guide). A new wording gets a new version: what was accepted stays recorded.
ALLOW_WARNING_VERSION = 1


def allow_warning() -> str:
    from django.utils.translation import gettext as _

    return _("Logins from this network will never be banned for your organisation's "
             "addresses and members again, whatever happens: attacks or attempts at guessing "
             "passwords from it will no longer be blocked automatically. You accept full "
             "responsibility for any attack coming from this network.")


def _allowed(ip: str, account: str) -> bool:
    """Does an organisation the account belongs to allow-list this address?"""
    if not account or not AllowedNetwork.objects.exists():
        return False
    from mailservice.models import Address
    from manager.accounts.models import Membership

    local, _, domain = account.rpartition("@")
    organisations = set(Address.objects.filter(local_part=local, mail_service__domain=domain)
                        .values_list("mail_service__organisation_id", flat=True))
    organisations |= set(Membership.objects.filter(user__email=account)
                         .values_list("organisation_id", flat=True))
    address = ipaddress.ip_address(ip.strip())
    return any(address in ipaddress.ip_network(network) for network in AllowedNetwork.objects.filter(
        organisation_id__in=organisations).values_list("network", flat=True))


def ban_applies(ip: str, account_ref: str, *, now=None):
    """An expression for a query whose rows name an account in `account_ref` (e.g. an API
    token's "user__email"): does a ban from this address refuse it (at `now`, default now)?
    Folded into the row's own query, so checking bans costs no query of its own; None when
    `ip` is no address. The allow-list is not in it: asked (active_ban) only when this
    says yes."""
    network = network_of(ip)
    if network is None:
        return None
    return Exists(Ban.objects.filter(
        Q(account="") | Q(account=Lower(OuterRef(account_ref))), network=network,
        lifted_at__isnull=True, expires__gt=now or timezone.now()))


def active_ban(ip: str, account: str = "") -> Ban | None:
    """The ban that refuses this account (or any account) from this address now."""
    network = network_of(ip)
    if network is None:
        return None
    account = (account or "").strip().lower()
    ban = (Ban.objects.filter(network=network, account__in={"", account}, lifted_at__isnull=True,
                              expires__gt=timezone.now()).order_by("-expires").first())
    # The allow-list is asked only when a ban applies: one query per request otherwise.
    if ban is not None and _allowed(ip, account):
        return None
    return ban


@transaction.atomic
def record_failure(ip: str, account: str = "", *, protocol: str) -> Ban | None:
    """Count one failed authentication; returns the ban it caused, if any."""
    network = network_of(ip)
    if network is None:
        return None
    account = (account or "").strip().lower()[:254]
    if _allowed(ip, account):
        return None
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


def _require_admin(actor, organisation):
    from django.utils.translation import gettext as _

    from manager.accounts.roles import CHANGE
    from manager.core.errors import ServiceError
    from manager.core.permissions import may

    if not may(actor, CHANGE, organisation_id=organisation.pk):
        raise ServiceError(_("Your role does not allow this action."), code="permission_denied",
                           status=403)


@transaction.atomic
def allowed_network_add(*, actor, organisation, network: str, accepted_warning_version,
                        label: str = "") -> AllowedNetwork:
    """Allow-list a network for the organisation's accounts: only when the actor accepted
    the current warning (its version is given back); records the text, who and when."""
    from django.utils.translation import gettext as _

    from manager.core.errors import Conflict, ServiceError

    _require_admin(actor, organisation)
    if accepted_warning_version != ALLOW_WARNING_VERSION:
        raise ServiceError(allow_warning(), code="consent_required",
                           fields={"accepted_warning_version": [
                               _("Read the warning and accept version %(v)s.") % {"v": ALLOW_WARNING_VERSION}]})
    try:
        parsed = ipaddress.ip_network((network or "").strip(), strict=False)
    except ValueError:
        raise ServiceError(_("Enter an IP address or a network such as 192.0.2.0/24."),
                           code="invalid", fields={"network": [_("Not an IP address or network.")]}) from None
    if parsed.num_addresses > (256 if parsed.version == 4 else 2 ** 80):  # /24, /48 at most
        raise ServiceError(_("This network is too large to be allowed."), code="network_too_large",
                           fields={"network": [_("At most a /24 (IPv4) or a /48 (IPv6).")]})
    if AllowedNetwork.objects.filter(organisation=organisation, network=str(parsed)).exists():
        raise Conflict(_("This network is already allowed."), code="already_allowed")
    allowed = AllowedNetwork.objects.create(
        organisation=organisation, network=str(parsed), label=(label or "").strip()[:100],
        warning_version=ALLOW_WARNING_VERSION, warning_text=allow_warning(), accepted_by=actor,
        accepted_at=timezone.now())
    audit.record(actor=actor, action="create", obj=allowed, organisation=organisation,
                 verb="allowed_network.add", object_repr=allowed.network,
                 after={"network": allowed.network, "warning_version": allowed.warning_version,
                        "accepted_by": actor.email})
    return allowed


@transaction.atomic
def allowed_network_remove(*, actor, allowed: AllowedNetwork) -> None:
    _require_admin(actor, allowed.organisation)
    audit.record(actor=actor, action="delete", obj=allowed, organisation=allowed.organisation,
                 verb="allowed_network.remove", object_repr=allowed.network,
                 before={"network": allowed.network})
    allowed.delete()

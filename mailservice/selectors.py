"""Reads of the mail app that are more than a one-line query: an address through the gate,
its rule set and active Sieve script, the forwarding graph, the linter's findings and the
backend status of mail services, the delivery log. Pages, endpoints, services and the push
all read here."""
from dataclasses import dataclass, replace

from django.conf import settings
from django.db.models import Count, Max, Q, Sum
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext

from manager.accounts.roles import VIEW
from manager.core import outbox
from manager.core.permissions import may

from . import permissions
from .models import (
    PUSH_KIND,
    Address,
    AddressAccess,
    Alias,
    DeliveryEvent,
    DkimKey,
    MailService,
    Permission,
    Redirection,
    SortingRule,
)
from .sieve.active_script import AutoReply, compose
from .sieve.forwarding import loop_path
from .sieve.lint import LintWarning, Word, lint_rules
from .sieve.rules import Rule, rule_from_dict
from .sieve.script_lint import lint_script, script_redirects


def address_for(user, pk) -> Address:
    """The address through the gate: another organisation's address is a 404 (pages and
    endpoints alike)."""
    return get_object_or_404(
        Address.objects.restrict(user, "view").select_related("mail_service__organisation"), pk=pk)


# --- a person's own addresses ("My mail") ----------------------------------------------

def my_addresses(user) -> list[AddressAccess]:
    """The addresses the person uses (their grants), with their own active device
    passwords counted and the last use among them; in every organisation they belong to.
    Three queries."""
    accesses = list(AddressAccess.objects.filter(user=user, address__mail_service__organisation__memberships__user=user,
                                                 address__removed_at__isnull=True,
                                                 address__mail_service__removed_at__isnull=True)
                    .select_related("address__mail_service__organisation")
                    .annotate(active_devices=Count("device_passwords", filter=Q(
                        device_passwords__revoked__isnull=True)),
                        last_device_use=Max("device_passwords__last_used", filter=Q(
                            device_passwords__revoked__isnull=True)))
                    .order_by("address__mail_service__domain", "address__local_part"))
    return accesses


# --- sorting rules and the active script ------------------------------------------------

def rule_data(rule: SortingRule) -> dict:
    return {"name": rule.name, "enabled": rule.enabled, "match": rule.match,
            "conditions": rule.conditions, "actions": rule.actions}


def to_rule(rule: SortingRule) -> Rule:
    return rule_from_dict(rule_data(rule))


def rules_for(address) -> list[Rule]:
    """Enabled and disabled rules in position order (the compiler skips disabled ones)."""
    return [to_rule(r) for r in SortingRule.objects.filter(address=address).order_by("position", "pk")]


def own_addresses(address, alias_local_parts: list[str] | None = None) -> list[str]:
    """The address and its aliases, as e-mail addresses (`alias_local_parts` instead of
    a query when the caller has them)."""
    if alias_local_parts is None:
        alias_local_parts = list(address.aliases.order_by("local_part").values_list("local_part", flat=True))
    domain = address.mail_service.domain
    return [address.email, *(f"{local_part}@{domain}" for local_part in alias_local_parts)]


def autoreply_for(address, alias_local_parts: list[str] | None = None) -> AutoReply | None:
    """The address's auto-reply as the script runs it, or None when it is off. It answers
    for the aliases chosen (all when none were), among those the address still has."""
    if not address.autoreply_enabled:
        return None
    aliases = own_addresses(address, alias_local_parts)[1:]
    if address.autoreply_addresses is not None:
        chosen = {a.lower() for a in address.autoreply_addresses}
        aliases = [a for a in aliases if a.lower() in chosen]
    return AutoReply(address.autoreply_subject, address.autoreply_body,
                     start=address.autoreply_start, end=address.autoreply_end,
                     days=address.autoreply_days, addresses=tuple(aliases))


def active_script(address, rules: list[Rule] | None = None,
                  alias_local_parts: list[str] | None = None) -> str | None:
    """What the address runs: the advanced script as written, or in standard mode its
    auto-reply and rules (`rules` instead of the stored ones when given). None: nothing."""
    if address.sieve_mode == Address.SieveMode.ADVANCED:
        return address.sieve_script or None
    autoreply = autoreply_for(address, alias_local_parts)
    return compose(email=address.email, is_catchall=address.is_catchall, autoreply=autoreply,
                   rules=rules_for(address) if rules is None else rules,
                   email_type_header=settings.MAIL_TYPE_HEADER)


def script_for(address) -> str:
    """What the address runs now (empty when nothing): the page, the API and the download."""
    return active_script(address) or ""


# --- the forwarding graph ---------------------------------------------------------------

def forward_targets(addresses: set[str]) -> dict[str, set[str]]:
    """Where mail sent to each of `addresses` also goes, as stored: alias → its address,
    address → its redirections and the forwards of its enabled standard-mode rules, or the
    `redirect`s of its advanced script. Over every mail service we serve: a loop through
    another organisation's address is still a loop. Four queries, whatever the number of
    addresses."""
    by_domain: dict[str, set[str]] = {}
    for email in addresses:
        local_part, _at, domain = email.rpartition("@")
        if local_part and domain:
            by_domain.setdefault(domain, set()).add(local_part)
    if not by_domain:
        return {}
    on_address, on_alias = Q(), Q()
    for domain, local_parts in by_domain.items():
        on_address |= Q(address__mail_service__domain=domain, address__local_part__in=local_parts)
        on_alias |= Q(mail_service__domain=domain, local_part__in=local_parts)
    targets: dict[str, set[str]] = {}

    def add(source: str, target: str) -> None:
        targets.setdefault(source.lower(), set()).add(target.strip().lower())

    for alias in Alias.objects.filter(on_alias).select_related("mail_service", "address"):
        add(f"{alias.local_part}@{alias.mail_service.domain}",
            f"{alias.address.local_part}@{alias.mail_service.domain}")
    for redirection in Redirection.objects.filter(on_address).select_related("address__mail_service"):
        add(redirection.address.email, redirection.target)
    rules = SortingRule.objects.filter(on_address, enabled=True,
                                       address__sieve_mode=Address.SieveMode.STANDARD)
    for rule in rules.select_related("address__mail_service"):
        for action in rule.actions or ():
            if isinstance(action, dict) and action.get("kind") == "forward" and action.get("argument"):
                add(rule.address.email, str(action["argument"]))
    # `on_alias` names the rows by their own domain and local part, as Address has them.
    advanced = Address.objects.filter(on_alias, sieve_mode=Address.SieveMode.ADVANCED)
    for address in advanced.select_related("mail_service").only(
            "local_part", "sieve_script", "mail_service__domain"):
        for target in script_redirects(address.sieve_script):
            add(address.email, target)
    return targets


def forwarding_loop(source: str, target: str, *, targets_of=None,
                    extra=None) -> list[str] | None:
    """The loop that mail forwarded from `source` to `target` would go round (the path from
    `target` back to `source`), or None. What `source` itself forwards to cannot matter:
    the path ends as soon as it is back. `targets_of` replaces the stored graph's lookup
    (one read ahead for many checks), `extra` adds edges not stored yet."""
    return loop_path(target, source, targets_of or forward_targets, extra=extra)


# --- the rule linter --------------------------------------------------------------------

def lint_for(address, rules: list[Rule] | None = None, *,
             script: str | None = None) -> list[LintWarning]:
    """The linter's warnings for what the address runs: in advanced mode its script, by
    line; otherwise its rules. `rules` (standard rules) or `script` (an advanced script)
    review unsaved ones instead. The loop check walks the same graph as the redirection
    service; hops through another organisation's addresses show as "…" (what they forward
    to is theirs to know)."""
    if script is None and rules is None and address.sieve_mode == Address.SieveMode.ADVANCED:
        script = address.sieve_script
    if script is not None:
        warnings = lint_script(script, address_email=address.email, forwards_of=forward_targets)
    else:
        rules = rules_for(address) if rules is None else rules
        if not rules:
            return []
        warnings = lint_rules(rules, address_email=address.email, forwards_of=forward_targets)
    if not any(w.code == "forward_loop" for w in warnings):
        return warnings
    ours = set(MailService.objects.filter(organisation_id=address.mail_service.organisation_id)
               .values_list("domain", flat=True))
    return [_masked(w, ours) if w.code == "forward_loop" else w for w in warnings]


def _masked(warning: LintWarning, our_domains: set[str]) -> LintWarning:
    hops = warning.params["path"].split(" → ")
    # The first hop is the address itself, the second the target the user typed.
    shown = hops[:2] + [h if h.rpartition("@")[2] in our_domains else "…" for h in hops[2:]]
    params = {**warning.params, "path": " → ".join(shown)}
    return replace(warning, params=params, message=warning.template % params)


def lint_report(warnings: list[LintWarning]) -> list[dict]:
    """Linter warnings as plain data, messages in the active language (product words in
    the parameters too; the user's values stay as typed); `line` is the script line of an
    advanced script's warning, None for a rule's."""
    def params(w):
        return {k: gettext(v) if isinstance(v, Word) else v for k, v in w.params.items()}

    return [{"position": w.position, "rule_name": w.rule_name, "code": w.code,
             "message": gettext(w.template) % params(w) if w.template else w.message,
             "line": w.line}
            for w in warnings]


# --- backend status ---------------------------------------------------------------------

def sync_jobs(domains) -> dict:
    """Each mail service's push job by domain, in one query (for a page of rows)."""
    return outbox.status_for(PUSH_KIND, domains)


# --- the delivery log -------------------------------------------------------------------

# Who of the users of an address sees its delivery log (managers always do).
DELIVERY_LOG_PERMISSIONS = (Permission.READ,)


def delivery_log_of_address(user, address):
    """What the address received and what it sent, newest first. Its organisation's
    managers and its users with the "read" permission see it; other users of the
    address get the 403 naming the permission."""
    permissions.require_any(user, address, DELIVERY_LOG_PERMISSIONS)
    return (DeliveryEvent.objects.filter(Q(address=address) | Q(sender_address=address))
            .select_related("address__mail_service", "sender_address__mail_service")
            .order_by("-time", "-id"))


def mail_service_for(user, pk) -> MailService:
    """The mail service through the gate: only its organisation's managers see it (a 404
    for everyone else, members included)."""
    return get_object_or_404(MailService.objects.restrict(user, "view")
                             .select_related("organisation"), pk=pk)


def delivery_log_of_service(user, service):
    """Every event of the mail service (unknown recipients included), newest first: for
    the organisation's managers."""
    if not may(user, VIEW, organisation_id=service.organisation_id):
        raise permissions.permission_refused()
    return (DeliveryEvent.objects.filter(mail_service=service)
            .select_related("address__mail_service", "sender_address__mail_service")
            .order_by("-time", "-id"))


# --- storage ----------------------------------------------------------------------------

@dataclass(frozen=True)
class StorageSummary:
    """A service's storage: the plan's cap (None: none), the addresses' quotas added up,
    and what they use as last reported (MB)."""

    limit_mb: int | None
    allocated_mb: int
    used_mb: float

    @property
    def allocated_percent(self) -> int | None:
        if not self.limit_mb:
            return None
        return min(100, self.allocated_mb * 100 // self.limit_mb)

    @property
    def used_percent(self) -> int | None:
        if not self.limit_mb:
            return None
        return min(100, int(self.used_mb * 100 / self.limit_mb))


def storage_summary(service: MailService) -> StorageSummary:
    """One query."""
    totals = service.addresses.aggregate(allocated=Sum("quota_mb"), used=Sum("quota_used_mb"))
    return StorageSummary(limit_mb=service.storage_limit_mb, allocated_mb=totals["allocated"] or 0,
                          used_mb=round(totals["used"] or 0, 2))


# --- The service's DNS records and DKIM keys ---------------------------------------------

@dataclass(frozen=True)
class MailDnsRecord:
    """One record the service needs, for the pages and the API."""

    name: str  # relative to the zone
    fqdn: str
    type: str
    ttl: int
    value: str  # as people read it (a TXT record's strings joined)
    purpose: str  # mail_records.MX, SPF, …
    status: str  # services.dns_records INSTALLED, OWNER, KEPT, MISSING
    their_value: str = ""  # KEPT/OWNER: the owner's record in its place
    reason: str = ""
    present: bool | None = None  # external domain, after a check: is it there?


@dataclass(frozen=True)
class MailDns:
    domain: object  # dnszones.Domain, or None for a service not linked to one
    records: tuple[MailDnsRecord, ...]
    dkim_keys: tuple  # DkimKey rows, newest first, without the removed ones

    @property
    def uses_our_dns(self) -> bool:
        return bool(self.domain and self.domain.uses_our_dns)

    @property
    def rotating(self) -> bool:
        return any(k.state == DkimKey.State.PUBLISHING for k in self.dkim_keys)


def mail_dns(service: MailService, *, check: bool = False) -> MailDns:
    """The records the service needs and how its domain has them; with `check`, for a
    domain at an external DNS host, whether each is there (the product's resolver)."""
    from dnszones.external import check_records
    from dnszones.zone.records import shown_value

    from .services.dns_records import INSTALLED, plan

    keys = tuple(DkimKey.objects.filter(mail_service=service)
                 .exclude(state=DkimKey.State.REMOVED).order_by("-created", "-id"))
    domain = service.domain_ref
    if domain is None:
        return MailDns(domain=None, records=(), dkim_keys=keys)
    planned = plan(service, domain)
    present = {}
    if check and not domain.uses_our_dns:
        mine = [item.row for item in planned if item.status == INSTALLED]
        present = {result.record.pk: result.present for result in check_records(domain, mine)}
    rows = []
    for item in planned:
        data = item.data
        name = data.name if data else item.record.name
        theirs = item.row if item.row is not None and item.status != INSTALLED else None
        rows.append(MailDnsRecord(
            name=name, fqdn=domain.name if name == "@" else f"{name}.{domain.name}",
            type=item.record.type, ttl=item.row.ttl if item.row is not None else domain.default_ttl,
            value=shown_value(item.record.type, data.value if data else item.record.value),
            purpose=item.record.purpose, status=item.status,
            their_value=theirs.shown_value if theirs else "", reason=item.reason,
            present=present.get(item.row.pk) if item.status == INSTALLED else None))
    return MailDns(domain=domain, records=tuple(rows), dkim_keys=keys)

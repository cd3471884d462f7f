"""Reads of the mail app that are more than a one-line query: an address through the gate,
its rule set and active Sieve script, the forwarding graph, the linter's findings and the
backend status of mail services. Pages, endpoints, services and the push all read here."""
from dataclasses import replace

from django.conf import settings
from django.db.models import Count, Max, Q
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext

from manager.core import outbox

from .models import (
    PUSH_KIND,
    Address,
    AddressAccess,
    Alias,
    MailService,
    Redirection,
    SortingRule,
)
from .sieve.active_script import AutoReply, compose
from .sieve.forwarding import loop_path
from .sieve.lint import LintWarning, Word, lint_rules
from .sieve.rules import Rule, rule_from_dict
from .sieve.script_lint import lint_script


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


def active_script(address, rules: list[Rule] | None = None) -> str | None:
    """What the address runs: the advanced script as written, or in standard mode its
    auto-reply and rules (`rules` instead of the stored ones when given). None: nothing."""
    if address.sieve_mode == Address.SieveMode.ADVANCED:
        return address.sieve_script or None
    autoreply = None
    if address.autoreply_enabled:
        autoreply = AutoReply(address.autoreply_subject, address.autoreply_body)
    return compose(email=address.email, is_catchall=address.is_catchall, autoreply=autoreply,
                   rules=rules_for(address) if rules is None else rules,
                   email_type_header=settings.MAIL_TYPE_HEADER)


def script_for(address) -> str:
    """What the address runs now (empty when nothing): the page, the API and the download."""
    return active_script(address) or ""


# --- the forwarding graph ---------------------------------------------------------------

def forward_targets(addresses: set[str]) -> dict[str, set[str]]:
    """Where mail sent to each of `addresses` also goes, as stored: alias → its address,
    address → its redirections and the forwards of its enabled standard-mode rules. Over
    every mail service we serve: a loop through another organisation's address is still a
    loop. Three queries, whatever the number of addresses."""
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
    return targets


def forwarding_loop(source: str, target: str) -> list[str] | None:
    """The loop that mail forwarded from `source` to `target` would go round (the path from
    `target` back to `source`), or None. What `source` itself forwards to cannot matter:
    the path ends as soon as it is back."""
    return loop_path(target, source, forward_targets)


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

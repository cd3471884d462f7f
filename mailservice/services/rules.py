"""Writes for sorting rules and the advanced (Sieve) mode of an address (SPEC §4).

Every change that alters an address's active script is checked the way the backend
will run it: the whole rule set is compiled (with the auto-reply, as `active_script`
does) and Dovecot's `sievec` must accept it before anything is saved.
"""
import logging
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from manager.accounts.roles import CHANGE
from manager.audit import services as audit
from manager.core.errors import ServiceError
from manager.core.permissions import may

from .. import limits
from ..models import Address, MailService, Permission, SortingRule
from ..permissions import may_on_address, permission_refused
from ..pigeonhole import SieveToolError, SieveToolMissing, check_script, prove_script
from ..selectors import active_script, rule_data, rules_for, to_rule
from ..sieve.compiler import compile_rules
from ..sieve.probe_messages import probe_messages, probe_messages_for_script
from ..sieve.rules import Rule, rule_from_dict, rule_to_dict, validate_rule, validate_rule_set
from .common import _denied, push, require_feature

log = logging.getLogger(__name__)

MAX_RULES_PER_ADDRESS = limits.RULES_PER_ADDRESS
MAX_SCRIPT_BYTES = limits.SCRIPT_BYTES


# --- checks -----------------------------------------------------------------------------

def _require_rules(actor, address: Address) -> None:
    if not may_on_address(actor, Permission.MANAGE_RULES, address):
        raise permission_refused([Permission.MANAGE_RULES])
    require_feature(address.mail_service, "sorting_rules")


def _require_manager(actor, service: MailService) -> None:
    if not may(actor, CHANGE, organisation_id=service.organisation_id):
        raise _denied()


def parse_rule(data: Mapping[str, Any], *, prefix: str = "") -> Rule:
    """A Rule from plain data, refused with field errors ("conditions.0.value", …)."""
    rule = rule_from_dict(data)
    errors = validate_rule(rule)
    if errors:
        fields = {f"{prefix}{key}": messages for key, messages in errors.items()}
        message = "; ".join(f"{k}: {m}" for k, ms in fields.items() for m in ms)
        raise ServiceError(message, code="invalid", fields=fields)
    return rule


def invalid_sieve(errors) -> ServiceError:
    """400 `invalid_sieve`; the message starts with Dovecot's first error and its line."""
    messages = [str(e) for e in errors]
    return ServiceError(_("Dovecot refused the script: %(errors)s") % {"errors": "; ".join(messages)},
                        code="invalid_sieve", fields={"script": messages})


def check_sieve(text: str, *, required: bool = True, rules: list[Rule] = ()) -> None:
    """Raise `invalid_sieve` when Dovecot refuses `text`: sievec must compile it, then the
    engine must run it to the end on probe messages (a script that compiles can still
    abort at delivery). Without the tools on this host an advanced script (`required`)
    cannot be accepted; compiled standard rules can (the compiler only emits what the
    golden and property tests proved the engine accepts)."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_SCRIPT_BYTES:
        raise ServiceError(_("The script is larger than 256 KB."), code="invalid_sieve",
                           fields={"script": [_("line 1: the script is too large.")]})
    header = settings.MAIL_TYPE_HEADER
    messages = tuple(probe_messages(rules, email_type_header=header) if rules
                     else probe_messages_for_script(text, email_type_header=header))
    try:
        errors = check_script(text) or list(_engine_errors(text, messages))
    except SieveToolMissing:
        if required:
            raise ServiceError(_("The Sieve validator is not available; try again later."),
                               code="validator_unavailable", status=503) from None
        log.warning("Pigeonhole tools missing: compiled rules saved without Dovecot's check")
        return
    except SieveToolError as exc:
        raise ServiceError(_("The Sieve validator failed: %(error)s") % {"error": exc},
                           code="validator_unavailable", status=503) from exc
    if errors:
        raise invalid_sieve(errors)


@lru_cache(maxsize=1024)
def _engine_errors(text: str, messages: tuple[bytes, ...]) -> tuple:
    """The engine's verdict, remembered per script: applying a template to a thousand
    addresses runs the engine once per distinct script, not once per address."""
    return tuple(prove_script(text, messages))


def check_rule_set(address: Address, rules: list[Rule]) -> None:
    """The whole rule set must fit the server's limits, compile in Dovecot and run in its
    engine; a rule that makes the engine fail is named."""
    errors = validate_rule_set(rules)
    if errors:
        raise ServiceError(" ".join(errors), code="invalid", fields={"rules": errors})
    if address.sieve_mode == Address.SieveMode.ADVANCED:
        return  # the rules are kept but not active: nothing to run
    script = active_script(address, rules=rules)
    if not script:
        return
    try:
        check_sieve(script, required=False, rules=rules)
    except ServiceError as exc:
        if exc.code != "invalid_sieve" or len(rules) < 2:
            raise
        for position, rule in enumerate(rules, start=1):
            try:
                check_sieve(compile_rules([rule], email_type_header=settings.MAIL_TYPE_HEADER).text,
                            required=False, rules=[rule])
            except ServiceError:
                exc.message = _("Rule %(position)d (“%(name)s”): %(error)s") % {
                    "position": position, "name": rule.name, "error": exc.message}
                break
        raise


def _renumber(rules: Iterable[SortingRule]) -> None:
    changed = []
    for position, rule in enumerate(rules, start=1):
        if rule.position != position:
            rule.position = position
            changed.append(rule)
    SortingRule.objects.bulk_update(changed, ["position"])


def _stored(rule: Rule) -> dict[str, Any]:
    data = rule_to_dict(rule)
    return {"name": data["name"], "enabled": data["enabled"], "match": data["match"],
            "conditions": data["conditions"], "actions": data["actions"]}


def _lock_address(address: Address) -> Address:
    """Serialise rule changes of one address (positions, the compiled whole)."""
    return Address.objects.select_for_update().select_related("mail_service").get(pk=address.pk)


# --- standard rules ---------------------------------------------------------------------

@transaction.atomic
def rule_create(*, actor, address: Address, name: str, conditions: list, actions: list,
                match: str = "all", enabled: bool = True, position: int | None = None) -> SortingRule:
    """Add a rule; at the end unless `position` (1-based) says where."""
    _require_rules(actor, address)
    address = _lock_address(address)
    rule = parse_rule({"name": name, "enabled": enabled, "match": match,
                       "conditions": conditions, "actions": actions})
    existing = list(SortingRule.objects.filter(address=address).order_by("position", "pk"))
    if len(existing) >= MAX_RULES_PER_ADDRESS:
        raise ServiceError(_("An address has at most %(n)d rules.") % {"n": MAX_RULES_PER_ADDRESS},
                           code="limit_reached")
    index = len(existing) if position is None else max(0, min(position - 1, len(existing)))
    candidate = [*(rules_for(address))]
    candidate.insert(index, rule)
    check_rule_set(address, candidate)
    created = SortingRule.objects.create(address=address, position=index + 1, **_stored(rule))
    existing.insert(index, created)
    _renumber(existing)
    audit.record(actor=actor, action="create", obj=created, after=rule_data(created))
    push(address.mail_service)
    return created


@transaction.atomic
def rule_update(*, actor, rule: SortingRule, **changes) -> SortingRule:
    """Change name, enabled, match, conditions and/or actions (a PATCH of `enabled`
    enables or disables the rule)."""
    allowed = {"name", "enabled", "match", "conditions", "actions"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"not rule fields: {sorted(unknown)}")
    address = rule.address
    _require_rules(actor, address)
    address = _lock_address(address)
    rule = SortingRule.objects.get(pk=rule.pk)
    before = rule_data(rule)
    parsed = parse_rule(before | changes)
    siblings = list(SortingRule.objects.filter(address=address).order_by("position", "pk"))
    candidate = [parsed if s.pk == rule.pk else to_rule(s) for s in siblings]
    check_rule_set(address, candidate)
    for key, value in _stored(parsed).items():
        setattr(rule, key, value)
    rule.address = address
    rule.save()
    audit.record(actor=actor, action="update", obj=rule, before=before, after=rule_data(rule))
    push(address.mail_service)
    return rule


@transaction.atomic
def rule_delete(*, actor, rule: SortingRule) -> None:
    address = rule.address
    _require_rules(actor, address)
    address = _lock_address(address)
    audit.record(actor=actor, action="delete", obj=rule, before=rule_data(rule))
    rule.delete()
    _renumber(SortingRule.objects.filter(address=address).order_by("position", "pk"))
    push(address.mail_service)


@transaction.atomic
def rule_duplicate(*, actor, rule: SortingRule) -> SortingRule:
    """A copy named "… (copy)", placed right after the original."""
    suffix = _(" (copy)")
    name = rule.name[: 200 - len(suffix)] + suffix
    return rule_create(actor=actor, address=rule.address, name=name, conditions=rule.conditions,
                       actions=rule.actions, match=rule.match, enabled=rule.enabled,
                       position=rule.position + 1)


@transaction.atomic
def rules_reorder(*, actor, address: Address, order: list[int]) -> list[SortingRule]:
    """`order` lists every rule id of the address exactly once, first rule first."""
    _require_rules(actor, address)
    address = _lock_address(address)
    rules = {r.pk: r for r in SortingRule.objects.filter(address=address)}
    if len(order) != len(set(order)) or set(order) != set(rules):
        raise ServiceError(_("List every rule of the address exactly once."), code="invalid",
                           fields={"order": [_("Must list exactly the address's rules.")]})
    before = [r.pk for r in sorted(rules.values(), key=lambda r: (r.position, r.pk))]
    ordered = [rules[pk] for pk in order]
    check_rule_set(address, [to_rule(r) for r in ordered])
    _renumber(ordered)
    audit.record(actor=actor, action="update", verb="reorder rules", obj=address,
                 before={"rule_order": before}, after={"rule_order": list(order)})
    push(address.mail_service)
    return ordered


def rule_move(*, actor, rule: SortingRule, direction: str) -> list[SortingRule]:
    """Move a rule one place "up" or "down" (the rule list's arrows); at either end it
    stays where it is."""
    _require_rules(actor, rule.address)
    if direction not in ("up", "down"):
        raise ServiceError(_("Unknown operation."), code="invalid",
                           fields={"direction": [_("Unknown operation.")]})
    order = list(SortingRule.objects.filter(address_id=rule.address_id)
                 .order_by("position", "pk").values_list("pk", flat=True))
    index = order.index(rule.pk)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(order):
        return list(SortingRule.objects.filter(address_id=rule.address_id).order_by("position", "pk"))
    order[index], order[other] = order[other], order[index]
    return rules_reorder(actor=actor, address=rule.address, order=order)


# --- advanced mode ----------------------------------------------------------------------

@transaction.atomic
def sieve_set(*, actor, address: Address, mode: str, script: str | None = None) -> Address:
    """Advanced mode runs `script` as written (validated by Dovecot); the standard rules
    stay in the database, inactive. Back to standard mode, they are active again; the
    last advanced script is kept for a later switch."""
    if not may_on_address(actor, Permission.MANAGE_RULES, address):
        raise permission_refused([Permission.MANAGE_RULES])
    address = _lock_address(address)
    before = {"sieve_mode": address.sieve_mode, "sieve_script": address.sieve_script}
    if mode == Address.SieveMode.ADVANCED:
        require_feature(address.mail_service, "advanced_sieve")
        script = address.sieve_script if script is None else script
        if not script.strip():
            raise ServiceError(_("Enter a Sieve script."), code="invalid",
                               fields={"script": [_("This field is required.")]})
        check_sieve(script)
        address.sieve_script = script
    elif mode == Address.SieveMode.STANDARD:
        address.sieve_mode = mode
        check_rule_set(address, rules_for(address))
    else:
        raise ServiceError(_('Choose "standard" or "advanced".'), code="invalid",
                           fields={"mode": [_('Choose "standard" or "advanced".')]})
    address.sieve_mode = mode
    address.save(update_fields=["sieve_mode", "sieve_script"])
    audit.record(actor=actor, action="update", verb="sieve mode", obj=address, before=before,
                 after={"sieve_mode": address.sieve_mode, "sieve_script": address.sieve_script})
    push(address.mail_service)
    return address


def decode_sieve_file(data: bytes) -> str:
    """A `.sieve` upload as text: UTF-8 (a BOM is dropped), else `invalid_sieve`."""
    if len(data) > MAX_SCRIPT_BYTES:
        raise ServiceError(_("The script is larger than 256 KB."), code="invalid_sieve",
                           fields={"file": [_("Too large.")]})
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ServiceError(_("line %(line)d: the file is not UTF-8 text.") % {"line": line},
                           code="invalid_sieve", fields={"file": [_("Not UTF-8 text.")]}) from exc


def sieve_import(*, actor, address: Address, data: bytes) -> Address:
    """Import a `.sieve` file: advanced mode with that script."""
    return sieve_set(actor=actor, address=address, mode=Address.SieveMode.ADVANCED,
                     script=decode_sieve_file(data))

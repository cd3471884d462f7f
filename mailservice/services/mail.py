"""Writes on mail services, addresses, aliases and redirections. Each one validates,
checks the plan, audits, and leaves a push job in the same transaction. Their removal and
restore are in `removal`, the room the plan leaves for addresses in `plan_limits`."""

import datetime
from types import SimpleNamespace

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from dnszones.services import domain_for_mail_service
from manager.accounts.roles import ADD, CHANGE
from manager.audit import services as audit
from manager.core.errors import Conflict, ServiceError

from .. import validators
from ..models import (
    CATCHALL_LOCAL_PART,
    Address,
    Alias,
    MailService,
    Permission,
    Redirection,
    RuleTemplate,
)
from ..permissions import manages, may_on_address, permission_refused
from ..plans import PLANS, storage_limit_mb
from ..selectors import forwarding_loop, own_addresses, rules_for
from .common import (
    ADDRESS_FIELDS,
    SERVICE_FIELDS,
    _clean,
    _denied,
    _feature_error,
    _require,
    push,
    require_feature,
)
from .dkim import dkim_first_key
from .dns_records import mail_records_install
from .plan_limits import address_room, check_room, check_storage
from .removal import address_delete, removal_dates
from .rules import check_rule_set
from .templates import apply_templates_to_new_address

# --- Mail services ---------------------------------------------------------------------

def _check_capacity(plan_slug, capacity):
    plan_ = PLANS[plan_slug]
    if plan_.max_addresses is None and (
        capacity < plan_.min_capacity or capacity % plan_.capacity_step
    ):
        raise ServiceError(
            _("The %(plan)s plan is bought in packs of %(step)d addresses, %(min)d minimum.")
            % {"plan": plan_.name, "step": plan_.capacity_step, "min": plan_.min_capacity},
            code="invalid_capacity", fields={"capacity": [_("Invalid capacity for this plan.")]})


@transaction.atomic
def mail_service_create(*, actor, organisation, domain: str, plan: str, capacity: int | None = None,
                        backend_host: str = "default") -> MailService:
    _require(actor, ADD, organisation.pk)
    domain = _clean("domain", validators.clean_domain, domain)
    if plan not in PLANS:
        raise ServiceError(_("Unknown plan."), code="invalid_plan", fields={"plan": [_("Unknown plan.")]})
    plan_ = PLANS[plan]
    capacity = capacity if capacity is not None else max(plan_.min_capacity, 5 if plan == "premium" else 1)
    _check_capacity(plan, capacity)
    removed = MailService.with_removed.filter(domain=domain, removed_at__isnull=False).first()
    if removed is not None:
        raise Conflict(_("%(domain)s was removed on %(removed)s and can be restored until "
                         "%(until)s; restore it, or wait until its mail is purged.")
                       % {"domain": domain, **removal_dates(removed)},
                       code="domain_removed", fields={"domain": [_("Removed, not purged yet.")]})
    if MailService.objects.filter(domain=domain).exists():
        raise Conflict(_("A mail service already serves %(domain)s.") % {"domain": domain},
                       code="domain_taken", fields={"domain": [_("Already served.")]})
    domain_ref = domain_for_mail_service(actor=actor, organisation=organisation, name=domain)
    service = MailService.objects.create(organisation=organisation, domain=domain, plan=plan,
                                         capacity=capacity, backend_host=backend_host or "default",
                                         domain_ref=domain_ref)
    audit.record(actor=actor, action="create", obj=service,
                 after=audit.snapshot(service, SERVICE_FIELDS))
    dkim_first_key(actor=actor, service=service)
    mail_records_install(actor=actor, service=service)
    push(service)
    return service


@transaction.atomic
def mail_service_update(*, actor, service: MailService, plan: str | None = None,
                        capacity: int | None = None) -> MailService:
    _require(actor, CHANGE, service.organisation_id)
    service = MailService.objects.select_for_update().get(pk=service.pk)
    before = audit.snapshot(service, SERVICE_FIELDS)
    new_plan = plan or service.plan
    if new_plan not in PLANS:
        raise ServiceError(_("Unknown plan."), code="invalid_plan", fields={"plan": [_("Unknown plan.")]})
    new_capacity = capacity if capacity is not None else service.capacity
    if new_plan != service.plan and capacity is None:
        new_capacity = max(new_capacity, PLANS[new_plan].min_capacity)
    _check_capacity(new_plan, new_capacity)
    addresses = service.addresses.all()
    count = addresses.count()
    plan_ = PLANS[new_plan]
    limit = plan_.max_addresses if plan_.max_addresses is not None else new_capacity
    if count > limit:
        raise ServiceError(
            _("%(count)d addresses exist; the %(plan)s plan allows %(limit)d. Delete some first.")
            % {"count": count, "plan": plan_.name, "limit": limit}, code="plan_limit_reached")
    if not plan_.catchall and addresses.filter(local_part=CATCHALL_LOCAL_PART).exists():
        raise _feature_error(plan_, "catchall")
    if not plan_.advanced_sieve and addresses.filter(sieve_mode=Address.SieveMode.ADVANCED).exists():
        raise _feature_error(plan_, "advanced_sieve")
    storage = storage_limit_mb(plan_, new_capacity)
    allocated = addresses.aggregate(total=Sum("quota_mb"))["total"] or 0
    if storage is not None and allocated > storage:
        values = {"plan": plan_.name, "limit": storage, "allocated": allocated}
        message = _("The addresses' quotas add up to %(allocated)d MB; the %(plan)s plan gives "
                    "%(limit)d MB. Lower some quotas first.") % values
        raise ServiceError(message, code="plan_limit_reached", fields={"plan": [message]})
    service.plan, service.capacity = new_plan, new_capacity
    service.save(update_fields=["plan", "capacity"])
    audit.record(actor=actor, action="update", obj=service, before=before,
                 after=audit.snapshot(service, SERVICE_FIELDS))
    push(service)
    return service


# --- Addresses -------------------------------------------------------------------------
# The checks of a new address are shared by `address_create` and the bulk import
# (services/bulk.py): `clean_new_address` (its own values and its plan's features, no
# database), `taken_local_parts` (held by an address or an alias), `check_room` (the plan's
# address count and storage, services/plan_limits.py). Only how many rows they see at once differs.

def clean_new_address(service: MailService, *, local_part: str, display_name: str = "",
                      quota_mb: int | None = None, enabled: bool = True) -> Address:
    """A new address of `service`, checked on its own values: the local part's syntax,
    the catchall feature of the plan, the fields' limits. No query: the callers check
    uniqueness and the plan's room for all their rows at once. Refusals name the field."""
    local_part = _clean("local_part", validators.clean_local_part, local_part)
    if local_part == CATCHALL_LOCAL_PART:
        require_feature(service, "catchall")
    address = Address(mail_service=service, local_part=local_part,
                      display_name=(display_name or "").strip(), enabled=enabled)
    if quota_mb is not None:
        address.quota_mb = quota_mb
    try:
        address.full_clean(exclude=["mail_service"], validate_unique=False,
                           validate_constraints=False)
    except ValidationError as exc:
        raise ServiceError("; ".join(exc.messages), code="invalid",
                           fields=getattr(exc, "message_dict", {})) from exc
    return address


def _holders(service, local_parts):
    """The addresses and aliases of the service holding any of `local_parts`, as (local
    part, removed_at, purge_after, holder's local part). A removed address keeps its
    local part and aliases until it is restored or purged: mail meant for the old mailbox
    must not reach a new one, and the restore must work."""
    # Unordered: the two are read as one UNION.
    addresses = Address.with_removed.filter(mail_service=service,
                                            local_part__in=local_parts).order_by()
    aliases = Alias.objects.filter(mail_service=service, local_part__in=local_parts).order_by()
    return (addresses.values_list("local_part", "removed_at", "purge_after", "local_part"),
            aliases.values_list("local_part", "address__removed_at", "address__purge_after",
                                "address__local_part"))


def taken_local_parts(service: MailService, local_parts) -> dict[str, ServiceError]:
    """Which of `local_parts` the service already uses, each with the refusal to give
    (409 `local_part_taken`, or `local_part_removed` naming the removed address). One
    query."""
    addresses, aliases = _holders(service, list(local_parts))
    taken = {}
    for local_part, removed_at, purge_after, holder in addresses.union(aliases, all=True):
        if local_part not in taken or removed_at is not None:
            taken[local_part] = _taken_error(service, local_part, removed_at, purge_after, holder)
    return taken


def _taken_error(service, local_part, removed_at, purge_after, holder) -> ServiceError:
    email = f"{local_part}@{service.domain}"
    if removed_at is None:
        return Conflict(_("%(email)s is already in use.") % {"email": email},
                        code="local_part_taken", fields={"local_part": [_("Already in use.")]})
    dates = removal_dates(SimpleNamespace(removed_at=removed_at, purge_after=purge_after))
    return Conflict(_("%(email)s belongs to %(address)s, removed on %(removed)s, which can be "
                      "restored until %(until)s; restore it, or wait until its mail is purged.")
                    % {"email": email, "address": f"{holder}@{service.domain}", **dates},
                    code="local_part_removed",
                    fields={"local_part": [_("Held by a removed address.")]})


def _local_part_free(service, local_part):
    taken = taken_local_parts(service, [local_part])
    if local_part in taken:
        raise taken[local_part]


def lock_service(actor, service: MailService, action: str) -> MailService:
    """The service row, locked for the transaction, if the actor's role allows `action`
    on it (403 otherwise): one query for the permission and the lock. The lock keeps two
    concurrent writes from both passing the plan's checks. `has_new_address_templates`
    comes with it (whether new addresses get rule templates)."""
    templates = RuleTemplate.objects.filter(mail_service=OuterRef("pk"), for_new_addresses=True)
    locked = (MailService.objects.restrict(actor, action).select_for_update(of=("self",))
              .annotate(has_new_address_templates=Exists(templates))
              .filter(pk=service.pk).first())
    if locked is None:
        raise _denied()
    return locked


@transaction.atomic
def address_create(*, actor, service: MailService, local_part: str, display_name: str = "",
                   quota_mb: int | None = None, enabled: bool = True) -> Address:
    service = lock_service(actor, service, ADD)
    address = clean_new_address(service, local_part=local_part, display_name=display_name,
                                quota_mb=quota_mb, enabled=enabled)
    count, allocated = address_room(service)
    check_room(service, count=count, allocated=allocated, new_count=1,
               new_quota_mb=address.quota_mb)
    taken = taken_local_parts(service, [address.local_part])
    if taken:
        raise taken[address.local_part]
    try:
        address.save(force_insert=True)
    except IntegrityError as exc:  # created by a concurrent request since the check
        raise Conflict(_("This address already exists."), code="local_part_taken") from exc
    audit.record(actor=actor, action="create", obj=address,
                 after=audit.snapshot(address, ADDRESS_FIELDS))
    apply_templates_to_new_address(actor=actor, address=address)
    push(service)
    return address


AUTOREPLY_FIELDS = {"autoreply_enabled", "autoreply_subject", "autoreply_body", "autoreply_start",
                    "autoreply_end", "autoreply_days", "autoreply_addresses", "autoreply_time_zone"}


def _clean_autoreply(address: Address) -> None:
    """The checks of an auto-reply that need more than its row: its time zone exists, it
    answers only for the address's own addresses, and an enabled one does not end before
    it could answer. Refusals name the field (400)."""
    errors = {}
    for key in ("autoreply_start", "autoreply_end"):
        moment = getattr(address, key)
        if isinstance(moment, datetime.datetime):
            # The script compares whole seconds; the state shown must agree with it.
            setattr(address, key, moment.replace(microsecond=0))
    zone = address.autoreply_time_zone
    if zone and zone not in validators.time_zone_names():
        errors["autoreply_time_zone"] = [_("Unknown time zone “%(zone)s”.") % {"zone": zone}]
    chosen = address.autoreply_addresses
    if chosen is not None:
        own = {email.lower(): email for email in own_addresses(address)}
        if not isinstance(chosen, list | tuple) or not all(isinstance(a, str) for a in chosen):
            errors["autoreply_addresses"] = [_("A list of addresses is expected.")]
        else:
            foreign = [a for a in chosen if a.strip().lower() not in own]
            if foreign:
                errors["autoreply_addresses"] = [
                    _("Only this address and its aliases can be answered for, not: %(list)s.")
                    % {"list": ", ".join(foreign)}]
            else:
                address.autoreply_addresses = list(dict.fromkeys(own[a.strip().lower()] for a in chosen))
    end = address.autoreply_end
    if address.autoreply_enabled and end is not None and end <= timezone.now():
        errors.setdefault("autoreply_end", []).append(
            _("The end is in the past: the auto-reply would never answer. Choose a later end "
              "or turn the auto-reply off."))
    if errors:
        raise ServiceError(" ".join(m for messages in errors.values() for m in messages),
                           code="invalid", fields=errors)


@transaction.atomic
def address_update(*, actor, address: Address, **changes) -> Address:
    """Change display name, quota, enabled flag or auto-reply. The local part is fixed:
    renaming an address would silently move its mail and logins."""
    allowed = {"display_name", "quota_mb", "enabled", *AUTOREPLY_FIELDS}
    unknown = set(changes) - allowed
    if unknown:
        raise ServiceError(_("These fields cannot be changed: %(f)s") % {"f": ", ".join(sorted(unknown))},
                           code="read_only", fields={f: [_("Read-only.")] for f in unknown})

    autoreply_only = set(changes) <= AUTOREPLY_FIELDS
    if not manages(actor, address):
        if not autoreply_only:
            raise permission_refused()
        if not may_on_address(actor, Permission.MANAGE_AUTOREPLY, address):
            raise permission_refused([Permission.MANAGE_AUTOREPLY])
    before = audit.snapshot(address, ADDRESS_FIELDS)
    for key, value in changes.items():
        setattr(address, key, value.strip() if isinstance(value, str) and key != "autoreply_body" else value)
    try:
        # The service and the local part are fixed: no query to check them again.
        address.full_clean(exclude=["mail_service"], validate_unique=False,
                           validate_constraints=False)
    except ValidationError as exc:
        raise ServiceError("; ".join(exc.messages), code="invalid", fields=exc.message_dict) from exc
    if "quota_mb" in changes and address.quota_mb > before["quota_mb"]:
        # Locked like address_create, so two raises at once cannot both fit the storage.
        service = MailService.objects.select_for_update().get(pk=address.mail_service_id)
        check_storage(service, address.quota_mb, address=address)
    if AUTOREPLY_FIELDS & set(changes):
        _clean_autoreply(address)
        # The auto-reply is part of the script delivery runs: Dovecot must accept and run it.
        check_rule_set(address, rules_for(address))
    after = audit.snapshot(address, ADDRESS_FIELDS)
    if before != after:
        address.save(update_fields=[n for n in ADDRESS_FIELDS if before[n] != after[n]])
        audit.record(actor=actor, action="update", obj=address, before=before, after=after)
        push(address.mail_service)
    return address


BULK_OPERATIONS = ("enable", "disable", "delete")


@transaction.atomic
def addresses_bulk(*, actor, addresses, operation: str) -> int:
    """Enable, disable or delete several addresses, all or nothing: a refusal in the middle
    leaves every address as it was. Returns how many were changed."""
    if operation not in BULK_OPERATIONS:
        raise ServiceError(_("Unknown operation."), code="invalid",
                           fields={"operation": [_("Unknown operation.")]})
    addresses = list(addresses)
    for address in addresses:
        if operation == "delete":
            address_delete(actor=actor, address=address)
        else:
            address_update(actor=actor, address=address, enabled=operation == "enable")
    return len(addresses)


# --- Aliases and redirections ----------------------------------------------------------

def clean_alias_local_part(local_part: str) -> str:
    """An alias's local part checked on its own (no database; shared with the import)."""
    local_part = _clean("local_part", validators.clean_local_part, local_part)
    if local_part == CATCHALL_LOCAL_PART:
        raise ServiceError(_("“catchall” is the generic address, not an alias."),
                           code="reserved", fields={"local_part": [_("Reserved.")]})
    return local_part


def redirection_loops(email: str, target: str, **graph) -> bool:
    """Would mail redirected from `email` to `target` go round in a loop? The same graph
    as the linter's loop check: aliases, redirections, forwarding rules (`graph`: see
    selectors.forwarding_loop; the import adds its file's edges)."""
    return target == email or forwarding_loop(email, target, **graph) is not None


def redirection_loop_error() -> ServiceError:
    return ServiceError(_("This redirection would send mail round in a loop."),
                        code="redirection_loop", fields={"target": [_("Creates a loop.")]})


@transaction.atomic
def alias_create(*, actor, address: Address, local_part: str) -> Alias:
    if not manages(actor, address):
        raise permission_refused()
    service = address.mail_service
    local_part = clean_alias_local_part(local_part)
    _local_part_free(service, local_part)
    alias = Alias.objects.create(address=address, mail_service=service, local_part=local_part)
    audit.record(actor=actor, action="create", obj=alias,
                 after={"address": address.pk, "local_part": local_part})
    push(service)
    return alias


@transaction.atomic
def alias_delete(*, actor, alias: Alias) -> None:
    if not manages(actor, alias.address):
        raise permission_refused()
    audit.record(actor=actor, action="delete", obj=alias,
                 before={"address": alias.address_id, "local_part": alias.local_part})
    alias.delete()
    push(alias.address.mail_service)


@transaction.atomic
def redirection_create(*, actor, address: Address, target: str, keep_copy: bool = True) -> Redirection:
    if not may_on_address(actor, Permission.MANAGE_REDIRECTIONS, address):
        raise permission_refused([Permission.MANAGE_REDIRECTIONS])
    target = _clean("target", validators.clean_email, target)
    # The same graph as the linter's loop check: aliases, redirections, forwarding rules.
    if redirection_loops(address.email, target):
        raise redirection_loop_error()
    if Redirection.objects.filter(address=address, target=target).exists():
        raise Conflict(_("This redirection already exists."), code="duplicate",
                       fields={"target": [_("Already redirected there.")]})
    redirection = Redirection.objects.create(address=address, target=target, keep_copy=keep_copy)
    audit.record(actor=actor, action="create", obj=redirection,
                 after={"address": address.pk, "target": target, "keep_copy": keep_copy})
    push(address.mail_service)
    return redirection


@transaction.atomic
def redirection_delete(*, actor, redirection: Redirection) -> None:
    if not may_on_address(actor, Permission.MANAGE_REDIRECTIONS, redirection.address):
        raise permission_refused([Permission.MANAGE_REDIRECTIONS])
    audit.record(actor=actor, action="delete", obj=redirection,
                 before={"target": redirection.target, "keep_copy": redirection.keep_copy})
    redirection.delete()
    push(redirection.address.mail_service)



@transaction.atomic
def mail_service_sync(*, actor, service: MailService) -> None:
    """"Push now": queue a full push of the service's desired state."""
    _require(actor, CHANGE, service.organisation_id)
    audit.record(actor=actor, action="other", obj=service, verb="mail_service.sync")
    push(service)

"""The plan table of SPEC §2: the one place that says what each plan allows."""
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Plan:
    slug: str
    name: str
    max_addresses: int | None  # a hard cap of the plan; None = the service's bought capacity
    min_capacity: int  # smallest capacity that can be bought
    capacity_step: int  # capacity is bought in packs of this size
    sorting_rules: bool
    advanced_sieve: bool
    catchall: bool
    # Storage the plan gives per address it allows, pooled over the service: the
    # addresses' quotas together may not exceed it (storage_limit_mb). None: set per
    # contract, the panel allocates without a cap.
    storage_mb_per_address: int | None = None


GB = 1024  # MB
PLANS: dict[str, Plan] = {
    p.slug: p
    for p in (
        # slug, name, max addresses, min capacity, capacity step, sorting rules,
        # advanced Sieve, catchall, storage per address
        Plan("ksuite_free", "kSuite free", None, 1, 1, True, False, False, 15 * GB),
        Plan("ksuite_standard", "kSuite Standard", None, 1, 1, True, True, True, 50 * GB),
        Plan("ksuite_business", "kSuite Business", None, 1, 1, True, True, True, 100 * GB),
        Plan("ksuite_enterprise", "kSuite Enterprise", None, 1, 1, True, True, True),
        Plan("my_ksuite", "my kSuite", 1, 1, 1, True, False, False, 20 * GB),
        Plan("my_ksuite_plus", "my kSuite+", 1, 1, 1, True, True, False, 50 * GB),
        Plan("starter", "Service Mail Starter", 1, 1, 1, True, False, False, 20 * GB),
        Plan("premium", "Service Mail Premium", None, 5, 5, True, True, True, 20 * GB),
    )
}

PLAN_CHOICES = [(p.slug, p.name) for p in PLANS.values()]

# Features a plan may lack; the error code names the feature.
FEATURES = {
    "catchall": _("a catchall address"),
    "advanced_sieve": _("the advanced (Sieve) filter mode"),
    "sorting_rules": _("sorting rules"),
}


def plan(slug: str) -> Plan:
    return PLANS[slug]


def address_limit(plan_: Plan, capacity: int) -> int:
    """How many addresses a service may hold: the plan's cap, else what was bought."""
    return plan_.max_addresses if plan_.max_addresses is not None else capacity


def storage_limit_mb(plan_: Plan, capacity: int) -> int | None:
    """The storage a service may allocate to its addresses' quotas, in MB (None: no cap):
    the plan's storage per address times the addresses it allows."""
    if plan_.storage_mb_per_address is None:
        return None
    return plan_.storage_mb_per_address * address_limit(plan_, capacity)

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


PLANS: dict[str, Plan] = {
    p.slug: p
    for p in (
        Plan("ksuite_free", "kSuite free", None, 1, 1, True, False, False),
        Plan("ksuite_standard", "kSuite Standard", None, 1, 1, True, True, True),
        Plan("ksuite_business", "kSuite Business", None, 1, 1, True, True, True),
        Plan("ksuite_enterprise", "kSuite Enterprise", None, 1, 1, True, True, True),
        Plan("my_ksuite", "my kSuite", 1, 1, 1, True, False, False),
        Plan("my_ksuite_plus", "my kSuite+", 1, 1, 1, True, True, False),
        Plan("starter", "Service Mail Starter", 1, 1, 1, True, False, False),
        Plan("premium", "Service Mail Premium", None, 5, 5, True, True, True),
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

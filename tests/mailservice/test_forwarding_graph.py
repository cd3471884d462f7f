"""One forwarding graph: the redirection service refuses exactly the loops that the rule
linter reports, through aliases, redirections and forwarding rules alike."""
import pytest

from mailservice import selectors, services
from manager.core.errors import ServiceError
from tests.factories import make_address, make_mail_service

pytestmark = pytest.mark.django_db


def forward(owner, address, target, *, enabled=True):
    return services.rule_create(actor=owner, address=address, name=f"to {target}", enabled=enabled,
                                conditions=[{"field": "from", "operator": "exists"}],
                                actions=[{"kind": "forward", "argument": target}])


def redirection_refused(owner, address, target) -> bool:
    try:
        services.redirection_create(actor=owner, address=address, target=target)
    except ServiceError as exc:
        assert exc.code == "redirection_loop"
        return True
    return False


def linter_reports_loop(owner, address, target) -> bool:
    forward(owner, address, target)
    return [w.code for w in selectors.lint_for(address)] == ["forward_loop"]


# Each world: the edges already stored, and where alice's mail would newly go.
WORLDS = {
    "a forwarding rule back": (True, "bob", lambda o, a: forward(o, a["bob"], "alice@domain.xyz")),
    "a redirection then a rule": (True, "bob", lambda o, a: (
        services.redirection_create(actor=o, address=a["bob"], target="carol@domain.xyz"),
        forward(o, a["carol"], "alice@domain.xyz"))),
    "a rule to one of alice's aliases": (True, "bob", lambda o, a: (
        services.alias_create(actor=o, address=a["alice"], local_part="al"),
        forward(o, a["bob"], "al@domain.xyz"))),
    "a chain that goes elsewhere": (False, "bob", lambda o, a: (
        forward(o, a["bob"], "carol@domain.xyz"),
        services.redirection_create(actor=o, address=a["carol"], target="x@elsewhere.example"))),
    "a disabled rule back": (False, "bob", lambda o, a: forward(o, a["bob"], "alice@domain.xyz",
                                                                enabled=False)),
    "an advanced script's redirect back": (True, "bob", lambda o, a: advanced(
        o, a["bob"], 'if true { redirect "Alice@Domain.xyz"; }')),
    "a redirect through a rule of the next": (True, "bob", lambda o, a: (
        advanced(o, a["bob"], 'if header :contains "subject" "x" { redirect "carol@domain.xyz"; }'),
        forward(o, a["carol"], "alice@domain.xyz"))),
    "a redirect built at delivery": (False, "bob", lambda o, a: advanced(
        o, a["bob"], 'require "variables";\nset "to" "alice@domain.xyz";\nredirect "${to}";')),
    "rules kept while in advanced mode": (False, "bob", lambda o, a: (
        forward(o, a["bob"], "alice@domain.xyz"), advanced(o, a["bob"], "keep;"))),
}


def advanced(owner, address, script):
    services.sieve_set(actor=owner, address=address, mode="advanced", script=script + "\n")


@pytest.mark.usefixtures("sieve_test")
@pytest.mark.parametrize("loops, target, build", WORLDS.values(), ids=WORLDS.keys())
def test_the_redirection_service_and_the_linter_agree(owner, premium, alice, loops, target, build):
    addresses = {"alice": alice, "bob": make_address(owner, premium, "bob"),
                 "carol": make_address(owner, premium, "carol")}
    build(owner, addresses)
    email = f"{target}@domain.xyz"
    assert redirection_refused(owner, alice, email) is loops
    assert linter_reports_loop(owner, alice, email) is loops


def test_a_loop_through_another_organisation_is_refused_and_its_hops_stay_hidden(
        owner, outsider, other_organisation, alice):
    other = make_mail_service(outsider, other_organisation, "other.example")
    bob = make_address(outsider, other, "bob")
    carl = make_address(outsider, other, "carl")
    services.redirection_create(actor=outsider, address=bob, target="carl@other.example")
    forward(outsider, carl, "alice@domain.xyz")
    assert redirection_refused(owner, alice, "bob@other.example")
    forward(owner, alice, "bob@other.example")
    [warning] = selectors.lint_for(alice)
    assert warning.code == "forward_loop"
    assert "alice@domain.xyz → bob@other.example → … → alice@domain.xyz" in warning.message
    assert "carl" not in warning.message

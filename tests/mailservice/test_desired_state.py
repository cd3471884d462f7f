"""The backend's desired state built from the database."""
import pytest

from mailservice import services
from mailservice.desired import desired_state
from mailservice.sieve.active_script import AutoReply, compose

pytestmark = pytest.mark.django_db


def test_state_lists_mailboxes_forwards_catchall_and_active_device_passwords(owner, premium, alice):
    bob = services.address_create(actor=owner, service=premium, local_part="bob")
    services.address_create(actor=owner, service=premium, local_part="catchall")
    services.alias_create(actor=owner, address=alice, local_part="ali")
    services.redirection_create(actor=owner, address=bob, target="ext@example.org", keep_copy=True)
    services.access_grant(actor=owner, address=alice, user=owner, permissions=["read", "send"])
    kept, _ = services.device_password_create(actor=owner, address=alice, name="laptop")
    gone, _ = services.device_password_create(actor=owner, address=alice, name="old phone")
    services.device_password_revoke(actor=owner, device=gone)

    state = desired_state(premium)
    assert state.domain == "domain.xyz" and state.catchall == "catchall@domain.xyz"
    assert [m.email for m in state.mailboxes] == ["alice@domain.xyz", "bob@domain.xyz", "catchall@domain.xyz"]
    forwards = {f.source: f.targets for f in state.forwards}
    assert forwards == {"ali@domain.xyz": ("alice@domain.xyz",),
                        "bob@domain.xyz": ("bob@domain.xyz", "ext@example.org")}
    assert [d.ref for d in state.device_passwords] == [str(kept.ref)]
    assert state.device_passwords[0].token_sha256 == kept.token_sha256


def test_redirection_without_copy_drops_the_mailbox_target(owner, alice, premium):
    services.redirection_create(actor=owner, address=alice, target="ext@example.org", keep_copy=False)
    assert {f.source: f.targets for f in desired_state(premium).forwards} == {
        "alice@domain.xyz": ("ext@example.org",)}


def test_disabled_address_serves_nothing(owner, alice, premium):
    services.alias_create(actor=owner, address=alice, local_part="ali")
    services.access_grant(actor=owner, address=alice, user=owner, permissions=["read"])
    services.device_password_create(actor=owner, address=alice, name="laptop")
    services.address_update(actor=owner, address=alice, enabled=False)
    state = desired_state(premium)
    assert [(m.email, m.enabled) for m in state.mailboxes] == [("alice@domain.xyz", False)]
    assert state.forwards == () and state.device_passwords == ()


def test_catchall_device_password_cannot_send(owner, premium):
    catchall = services.address_create(actor=owner, service=premium, local_part="catchall")
    services.access_grant(actor=owner, address=catchall, user=owner, permissions=["read"])
    services.device_password_create(actor=owner, address=catchall, name="pc")
    assert [d.can_send for d in desired_state(premium).device_passwords] == [False]


def test_desired_state_query_count_does_not_grow(owner, premium, django_assert_max_num_queries):
    premium.capacity = 100
    premium.save()
    for i in range(40):
        address = services.address_create(actor=owner, service=premium, local_part=f"u{i}")
        services.alias_create(actor=owner, address=address, local_part=f"alias{i}")
    # Constant whatever the number of addresses: the service, addresses, aliases, forwards,
    # device passwords, rules, the users of each address (sender grants), the signing DKIM
    # key, the synonym domains, the addresses' signature settings (none here; with a
    # template active, two more: their users and signatures).
    with django_assert_max_num_queries(9):
        state = desired_state(premium)
    assert len(state.mailboxes) == 40 and len(state.forwards) == 40


def test_autoreply_is_composed_before_rules_and_valid_for_dovecot():
    from mailservice.pigeonhole import check_script, sievec_available
    from mailservice.sieve.rules import Action, Condition, Rule

    rules = [Rule(name="fb", conditions=(Condition("from", "contains", "facebook.com"),),
                  actions=(Action("move", "fb"),))]
    script = compose(email="a@domain.xyz", is_catchall=False, autoreply=AutoReply('Away "now"', "Back\nsoon"),
                     rules=rules, email_type_header="X-Mail-Type")
    assert script.count("require") == 1 and '"vacation"' in script and '"fileinto"' in script
    assert script.index("vacation") < script.index("fileinto :create")
    if sievec_available():
        assert check_script(script) == []
    assert compose(email="a@x.y", is_catchall=False, autoreply=None, rules=[], email_type_header="X") is None


def test_a_login_may_send_as_an_address_only_when_everyone_sending_through_it_may(
        owner, member, premium, alice):
    bob = services.address_create(actor=owner, service=premium, local_part="bob")
    services.access_grant(actor=owner, address=alice, user=owner, permissions=["read", "send"])
    member_on_alice = services.access_grant(actor=owner, address=alice, user=member,
                                            permissions=["read"])
    services.access_grant(actor=owner, address=bob, user=owner, permissions=["send"])
    services.device_password_create(actor=owner, address=alice, name="laptop")
    assert desired_state(premium).sender_grants == (("bob@domain.xyz", "alice@domain.xyz"),)

    # The member's device on alice@ cannot send: the grant stays.
    services.device_password_create(actor=owner, address=alice, name="member's phone", user=member)
    services.access_update(actor=owner, access=member_on_alice, permissions=["read"])
    assert desired_state(premium).sender_grants == (("bob@domain.xyz", "alice@domain.xyz"),)

    # Once the member sends through alice@ too, alice@ no longer sends as bob@: the member
    # has no "send" on bob@ and Postfix cannot tell the two people's logins apart.
    services.access_update(actor=owner, access=member_on_alice, permissions=["read", "send"])
    assert desired_state(premium).sender_grants == ()


def test_the_catchall_gets_no_sender_grant(owner, premium, alice):
    catchall = services.address_create(actor=owner, service=premium, local_part="catchall")
    services.access_grant(actor=owner, address=alice, user=owner, permissions=["send"])
    services.access_grant(actor=owner, address=catchall, user=owner, permissions=["read"])
    services.device_password_create(actor=owner, address=alice, name="laptop")
    services.device_password_create(actor=owner, address=catchall, name="laptop")
    assert desired_state(premium).sender_grants == ()

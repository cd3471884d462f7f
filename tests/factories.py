"""Test data builders: plain functions over the services, so tests use the real paths.
The fixtures of tests/conftest.py are built with these; a test that needs another domain,
plan or local part calls them directly."""
import itertools

from manager.accounts import services as account_services
from manager.accounts.models import Membership, User

_seq = itertools.count(1)
PASSWORD = "correct-horse-battery-9"


def make_user(email=None, *, password=PASSWORD, **extra) -> User:
    email = email or f"person{next(_seq)}@example.org"
    return User.objects.create_user(email=email, password=password, **extra)


def make_organisation(owner, name=None):
    return account_services.organisation_create(actor=owner, name=name or f"Org {next(_seq)}")


def add_member(organisation, user, role="member") -> Membership:
    return Membership.objects.create(organisation=organisation, user=user, role=role)


def make_mail_service(owner, organisation, domain=None, *, plan="premium", **extra):
    from mailservice import services

    return services.mail_service_create(actor=owner, organisation=organisation,
                                        domain=domain or f"d{next(_seq)}.example", plan=plan,
                                        **extra)


def make_address(owner, service, local_part=None, **extra):
    from mailservice import services

    return services.address_create(actor=owner, service=service,
                                   local_part=local_part or f"user{next(_seq)}", **extra)


def grant(owner, address, user, permissions):
    """`user` becomes a user of `address` with `permissions` (values of Permission)."""
    from mailservice import services

    return services.access_grant(actor=owner, address=address, user=user,
                                 permissions=list(permissions))


def make_domain(owner, organisation, name=None, *, uses_our_dns=True, **extra):
    from dnszones import services

    return services.domain_create(actor=owner, organisation=organisation,
                                  name=name or f"z{next(_seq)}.example",
                                  uses_our_dns=uses_our_dns, **extra)


def make_record(owner, domain, name="@", type="A", value="192.0.2.1", **extra):
    from dnszones import services

    return services.record_create(actor=owner, domain=domain, name=name, type=type,
                                  value=value, **extra)

"""Test data builders: plain functions over the services, so tests use the real paths."""
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

"""The test world (Healthchecks-style): an owner and a member of one organisation, and an
outsider who owns another organisation; the mail world on top of it (a Premium and a
Starter service, alice@ on the Premium one, and an address of the other organisation)."""
import json
import os
import shutil

import pytest
from django.core.cache import cache
from django.utils import translation
from rest_framework.test import APIClient

from manager.accounts.services import api_token_create

from .factories import add_member, make_address, make_mail_service, make_organisation, make_user


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # throttle counters live in the cache
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _default_language():
    """A page requested in French leaves French active in the thread: the next test, and
    anything it formats outside a request (a task, a model's message), starts in English."""
    yield
    translation.deactivate()


@pytest.fixture
def owner(db):
    return make_user("owner@example.org", full_name="Olive Owner")


@pytest.fixture
def organisation(owner):
    return make_organisation(owner, "Acme Hosting")


@pytest.fixture
def admin(organisation):
    user = make_user("admin@example.org")
    add_member(organisation, user, "admin")
    return user


@pytest.fixture
def member(organisation):
    user = make_user("member@example.org")
    add_member(organisation, user, "member")
    return user


@pytest.fixture
def outsider(db):
    return make_user("outsider@example.net")


@pytest.fixture
def other_organisation(outsider):
    return make_organisation(outsider, "Other Org")


# --- Mail services and addresses -------------------------------------------------------

@pytest.fixture
def premium(owner, organisation):
    return make_mail_service(owner, organisation, "domain.xyz", plan="premium")


@pytest.fixture
def starter(owner, organisation):
    return make_mail_service(owner, organisation, "starter.example", plan="starter")


@pytest.fixture
def alice(owner, premium):
    return make_address(owner, premium, "alice", display_name="Alice")


@pytest.fixture
def foreign_address(outsider, other_organisation):
    """bob@other.example, of another organisation: a 404 for everyone here."""
    service = make_mail_service(outsider, other_organisation, "other.example", plan="premium")
    return make_address(outsider, service, "bob")


# --- API clients -----------------------------------------------------------------------

def client_for(user):
    client = APIClient()
    if user is not None:
        _token, raw = api_token_create(actor=user, name="test")
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def api():
    """api(user) → an API client authenticated with a fresh token of that user."""
    return client_for


@pytest.fixture
def owner_api(owner, organisation):
    return client_for(owner)


# --- Real Dovecot Pigeonhole tools ------------------------------------------------------

def _require_tools(*names: str) -> None:
    missing = [name for name in names if not shutil.which(name)]
    if not missing:
        return
    message = f"Dovecot Pigeonhole tool(s) not installed: {', '.join(missing)}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def sievec():
    """Tests that run the real `sievec` request this (skip locally, fail on CI)."""
    _require_tools("sievec")


@pytest.fixture(scope="session")
def sieve_test():
    """Tests that run the real `sieve-test` request this (skip locally, fail on CI)."""
    _require_tools("sievec", "sieve-test")


@pytest.fixture(scope="module")
def schema():
    """The OpenAPI schema the API publishes, as plain JSON (see tests/api/schema_check.py)."""
    from drf_spectacular.generators import SchemaGenerator

    return json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True),
                                 default=str))

"""The test world (Healthchecks-style): an owner and a member of one organisation, and an
outsider who owns another organisation."""
import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from manager.accounts.services import api_token_create

from .factories import add_member, make_organisation, make_user


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # throttle counters live in the cache
    yield
    cache.clear()


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

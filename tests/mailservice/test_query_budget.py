"""Regression guards on what the mail API's calls cost the database: each single-object
read and write within its query budget, lists constant in their page size, and the gate
still asked on every request (a revoked token or a removed membership counts at once).
Transaction control is not counted: SQLite logs its BEGIN IMMEDIATE and COMMIT, PostgreSQL
does not, and a test's savepoints do not exist in production."""
import contextlib
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mailservice.models import Address
from manager.accounts.models import ApiToken, Membership
from tests.conftest import client_for
from tests.factories import add_member, make_address, make_user

pytestmark = pytest.mark.django_db(transaction=True)

_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO)", re.I)


@contextlib.contextmanager
def _statements(check):
    with CaptureQueriesContext(connection) as context:
        yield
    statements = [q["sql"] for q in context.captured_queries if not _CONTROL.match(q["sql"])]
    assert check(len(statements)), "\n".join([f"{len(statements)} statements:", *statements])


@pytest.fixture
def django_assert_max_num_queries():
    """pytest-django's fixture of that name, without transaction control."""
    return lambda n: _statements(lambda count: count <= n)


@pytest.fixture
def django_assert_num_queries():
    return lambda n: _statements(lambda count: count == n)


@pytest.fixture
def client(owner, premium):
    client = client_for(owner)
    client.get("/api/v1/addresses/")  # the token's once-a-minute last_used stamp
    return client


def test_retrieve_costs_at_most_3_queries(client, alice, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        assert client.get(f"/api/v1/addresses/{alice.pk}/").status_code == 200


def test_create_costs_at_most_8_queries(client, premium, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        response = client.post("/api/v1/addresses/", {"mail_service": premium.pk,
                                                      "local_part": "zed"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["sync_status"] == "pending"


def test_update_costs_at_most_6_queries(client, alice, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        response = client.patch(f"/api/v1/addresses/{alice.pk}/",
                                {"display_name": "Alice A.", "quota_mb": 512}, format="json")
    assert response.status_code == 200, response.content
    alice.refresh_from_db()
    assert (alice.display_name, alice.quota_mb) == ("Alice A.", 512)


def test_delete_costs_at_most_8_queries(client, alice, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        assert client.delete(f"/api/v1/addresses/{alice.pk}/").status_code == 204
    assert not Address.objects.filter(pk=alice.pk).exists()


@pytest.mark.parametrize("query", ["", "&search=user", "&q=user", "&ordering=-created",
                                   "&enabled=true", "&offset=25",
                                   # An id compared as such: the service is not read first.
                                   "&mail_service={service}"])
def test_a_list_costs_the_same_for_10_and_100_rows(client, owner, premium, query,
                                                   django_assert_num_queries):
    from mailservice import services

    query = query.format(service=premium.pk)

    services.mail_service_update(actor=owner, service=premium, capacity=200)
    Address.objects.bulk_create(Address(mail_service=premium, local_part=f"user{i:03d}")
                                for i in range(120))
    with django_assert_num_queries(5):  # token, count, page, its services, their push jobs
        small = client.get(f"/api/v1/addresses/?limit=10{query}")
    with django_assert_num_queries(5):
        large = client.get(f"/api/v1/addresses/?limit=100{query}")
    assert small.status_code == large.status_code == 200
    assert len(small.json()["results"]) == 10 and len(large.json()["results"]) > 10


def test_a_service_the_gate_hides_lists_nothing_like_one_that_does_not_exist(client, alice):
    from tests.factories import make_mail_service, make_organisation, make_user

    stranger = make_user("stranger@example.org")
    theirs = make_mail_service(stranger, make_organisation(stranger), "theirs.example")
    hidden = client.get(f"/api/v1/addresses/?mail_service={theirs.pk}")
    missing = client.get(f"/api/v1/addresses/?mail_service={theirs.pk + 1000}")
    assert hidden.status_code == missing.status_code == 200
    assert hidden.json()["count"] == missing.json()["count"] == 0
    assert client.get(f"/api/v1/addresses/?mail_service={alice.mail_service_id}").json()["count"] == 1
    for bad in ("abc", "0", str(2**63)):
        response = client.get(f"/api/v1/addresses/?mail_service={bad}")
        assert response.status_code == 400 and "mail_service" in response.json()["error"]["fields"]


def test_a_detail_request_ignores_the_lists_filters(client, alice):
    assert client.get(f"/api/v1/addresses/{alice.pk}/?enabled=false").status_code == 200


def test_search_and_q_are_the_same_filter(client, premium, alice, owner):
    make_address(owner, premium, "bob")
    by_search = client.get("/api/v1/addresses/?search=ali").json()
    by_q = client.get("/api/v1/addresses/?q=ali").json()
    assert [a["email"] for a in by_search["results"]] == ["alice@domain.xyz"]
    assert by_search == by_q


def test_an_unknown_ordering_is_a_400(client):
    response = client.get("/api/v1/addresses/?ordering=display_name")
    assert response.status_code == 400 and "ordering" in response.json()["error"]["fields"]


def test_a_revoked_token_is_refused_at_the_next_request(client, owner, alice):
    assert client.get(f"/api/v1/addresses/{alice.pk}/").status_code == 200
    ApiToken.objects.filter(user=owner).update(revoked="2026-01-01T00:00:00Z")
    assert client.get(f"/api/v1/addresses/{alice.pk}/").status_code == 401


def test_a_removed_membership_counts_at_the_next_request(organisation, premium, alice):
    admin = make_user("admin-b@example.org")
    add_member(organisation, admin, "admin")
    client = client_for(admin)
    assert client.get(f"/api/v1/addresses/{alice.pk}/").status_code == 200
    assert client.patch(f"/api/v1/addresses/{alice.pk}/", {"display_name": "x"},
                        format="json").status_code == 200
    Membership.objects.filter(user=admin).delete()
    assert client.get(f"/api/v1/addresses/{alice.pk}/").status_code == 404
    assert client.patch(f"/api/v1/addresses/{alice.pk}/", {"display_name": "y"},
                        format="json").status_code == 404
    assert client.get("/api/v1/addresses/").json()["count"] == 0

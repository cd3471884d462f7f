"""The address list's default ordering and each ordering and filter it offers are served by
an index on PostgreSQL: the plan of the page query walks an index in order and has no Sort
of the service's rows. PostgreSQL only (CI runs on it): SQLite's planner is another one.

Not here, by design: `search`/`q` is a substring of the local part or display name, which
no B-tree serves; it filters the service's rows (README "The address list"). A deep
`offset` lets the planner choose to sort rather than walk thousands of index entries. A
rare value (`sieve_mode=advanced`, `catchall=true`) over every service of the organisation
is found by a scan, as cheap as its index would be; within a service (`mail_service=`) it
is an index lookup."""
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mailservice.filters import ADDRESS_ORDERINGS
from mailservice.models import Address
from tests.conftest import client_for

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="query plans are checked on PostgreSQL (DATABASE_URL)"),
]

ROWS = 5000


@pytest.fixture
def client(owner, organisation, premium):
    from mailservice import services

    services.mail_service_update(actor=owner, service=premium, capacity=ROWS + 10)
    Address.objects.bulk_create(
        Address(mail_service=premium, local_part=f"user{i:05d}", display_name=f"User {i}",
                enabled=i % 10 != 0, sieve_mode="advanced" if i % 500 == 0 else "standard")
        for i in range(ROWS))
    Address.objects.bulk_create([Address(mail_service=premium, local_part="catchall")])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE mailservice_address")
        cursor.execute("ANALYZE mailservice_mailservice")
    return client_for(owner)


def _plans(client, url):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, response.content
    plans = {}
    for query in context.captured_queries:
        sql = query["sql"]
        if 'FROM "mailservice_address"' in sql and sql.startswith("SELECT"):
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN " + sql)
                plan = "\n".join(row[0] for row in cursor.fetchall())
            plans["count" if "COUNT(*)" in sql else "page"] = plan
    return plans


CASES = [f"ordering={key}" for key in ADDRESS_ORDERINGS] + [
    "", "mail_service={service}", "enabled=false", "enabled=true",
    "catchall=false", "offset=500", "mail_service={service}&enabled=false",
    "mail_service={service}&sieve_mode=advanced", "mail_service={service}&catchall=true",
    "mail_service={service}&ordering=-created"]


@pytest.mark.parametrize("query", CASES)
def test_the_page_walks_an_index_without_sorting(client, premium, query):
    plans = _plans(client, "/api/v1/addresses/?limit=100&" + query.format(service=premium.pk))
    page = plans["page"]
    assert "Index" in page, page
    assert "Seq Scan on mailservice_address" not in page, page
    # A filter that keeps a few rows may sort those (read through its index); never more.
    sorted_rows = [int(n) for n in re.findall(r"Sort  \(cost=\S+ rows=(\d+)", page)]
    assert all(n <= 100 for n in sorted_rows), page


def test_the_count_does_not_sort_or_read_the_mail_service_per_row(client):
    count = _plans(client, "/api/v1/addresses/?limit=10")["count"]
    # Aggregate over one scan of the addresses; the gate's subqueries are hashed once.
    assert "Sort" not in count, count
    assert "Scan" in count.splitlines()[1] and "mailservice_address" in count.splitlines()[1], count


def test_disabled_addresses_across_every_service_walk_their_own_index(owner, organisation, premium):
    """`enabled=false` with no service: the page reads the partial index of the disabled
    addresses in the default order and stops at the page's end, whatever the statistics
    say of the other indexes (they would have to skip the enabled rows, or sort)."""
    from mailservice import services
    from tests.factories import make_mail_service

    others = [make_mail_service(owner, organisation, f"more{n}.example", plan="premium")
              for n in range(3)]
    for service in (premium, *others):
        services.mail_service_update(actor=owner, service=service, capacity=ROWS + 10)
        Address.objects.bulk_create(
            Address(mail_service=service, local_part=f"user{i:05d}", enabled=i % 10 != 0)
            for i in range(ROWS // 2))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE mailservice_address")
        cursor.execute("ANALYZE mailservice_mailservice")
    response_plans = _plans(client_for(owner), "/api/v1/addresses/?limit=100&enabled=false")
    page = response_plans["page"]
    assert "address_disabled_order" in page, page
    assert "Sort" not in page, page

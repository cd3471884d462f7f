"""The address serializer's read plan gives exactly what DRF's generic path gives, for
generated rows (empty and null values, any time zone, text of any script), and a read
builds neither the gate's query nor the serializer's fields."""
import zoneinfo
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework import serializers

from mailservice.api.addresses import AddressSerializer
from mailservice.models import Address
from manager.core.serializers import ReadPlanMixin

pytestmark = pytest.mark.django_db

# Within years any zone can shift without leaving the calendar (DRF refuses those either way).
instants = st.datetimes(datetime(1970, 1, 2), datetime(2999, 12, 30), timezones=st.just(UTC))
moments = st.none() | instants
text = st.text(max_size=40)
zones = st.sampled_from(["UTC", "Europe/Zurich", "Asia/Kolkata", "America/St_Johns",
                         "Pacific/Chatham"])

rows = st.builds(
    dict,
    local_part=st.text(alphabet="abcdefghij.-_", min_size=1, max_size=20),
    display_name=text, quota_mb=st.none() | st.integers(0, 10**6),
    quota_used_mb=st.none() | st.floats(0, 10**6, allow_nan=False),
    quota_used_at=moments, enabled=st.booleans(),
    sieve_mode=st.sampled_from(Address.SieveMode.values),
    autoreply_enabled=st.booleans(), autoreply_subject=text, autoreply_body=text,
    autoreply_start=moments, autoreply_end=moments, autoreply_days=st.integers(1, 30),
    autoreply_addresses=st.none() | st.lists(text, max_size=3),
    autoreply_time_zone=st.sampled_from(["", "Europe/Paris"]),
    sieve_failure=st.sampled_from(["", *Address.SieveFailure.values]),
    sieve_failure_reason=text, sieve_failure_at=moments,
    created=instants,
)


@pytest.fixture
def context(premium):
    # The push jobs of the page, as the list view passes them: no query per row.
    return {"sync_jobs": {premium.domain: None}}


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=rows, zone=zones, pk=st.integers(1, 2**31))
def test_the_plan_gives_what_drf_gives(premium, context, row, zone, pk):
    address = Address(pk=pk, mail_service=premium, **row)
    serializer = AddressSerializer(context=context)
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        planned = serializer.to_representation(address)
        generic = serializers.ModelSerializer.to_representation(serializer, address)
    assert planned == generic
    assert list(planned) == list(generic)


def test_every_field_of_the_address_takes_a_fast_path():
    AddressSerializer(context={}).to_representation  # noqa: B018 - the plan is per class
    plan = AddressSerializer(context={})._compile_read_plan()
    slow = [name for name, read, convert in plan if convert is None]
    assert slow == []
    assert [name for name, *_ in plan] == AddressSerializer.Meta.fields


def test_a_field_the_plan_cannot_prove_takes_drfs_path(premium, context):
    class Dotted(ReadPlanMixin, serializers.ModelSerializer):
        domain = serializers.CharField(source="mail_service.domain")

        class Meta:
            model = Address
            fields = ["id", "domain"]

    plan = dict((name, convert) for name, _read, convert in Dotted(context={})._compile_read_plan())
    assert plan["domain"] is None and plan["id"] is not None
    address = Address(pk=7, mail_service=premium, local_part="x")
    assert Dotted(address).data == {"id": 7, "domain": premium.domain}


def test_a_page_builds_no_gate_query_and_no_fields(owner, premium, context):
    addresses = [Address(pk=i, mail_service=premium, local_part=f"u{i}") for i in (1, 2)]
    serializer = AddressSerializer(addresses, many=True, context=context)
    with CaptureQueriesContext(connection) as queries:
        data = serializer.data
    assert [row["id"] for row in data] == [1, 2]
    assert queries.captured_queries == []
    assert "fields" not in serializer.child.__dict__

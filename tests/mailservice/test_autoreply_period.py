"""An auto-reply with a period, an interval and the addresses it answers for: the API
(fields, `autoreply_state`, refusals on the field), the pages (entered and shown in the
browser's time zone, the state on the list and the detail page, form errors), and what
the live script gets."""
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from mailservice import limits, services
from mailservice.models import Address
from mailservice.selectors import active_script
from tests.api.schema_check import check as check_schema

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def patch(api, user, address, **body):
    return api(user).patch(f"/api/v1/addresses/{address.pk}/", body, format="json")


def enable(owner, address, **changes):
    return services.address_update(actor=owner, address=address, autoreply_enabled=True,
                                   autoreply_subject="Away", autoreply_body="Back soon", **changes)


# --- the API -----------------------------------------------------------------------------

def test_a_period_set_through_the_api_is_stored_in_utc_and_read_back(api, owner, alice, schema):
    response = patch(api, owner, alice, autoreply_enabled=True, autoreply_subject="Away",
                     autoreply_start="2099-07-01T09:00:00+02:00",
                     autoreply_end="2099-07-15T18:30:00+02:00", autoreply_days=7)
    assert response.status_code == 200, response.content
    check_schema(schema, "patch", "/api/v1/addresses/{id}/", response)
    body = response.json()
    assert body["autoreply_start"] == "2099-07-01T07:00:00Z"
    assert body["autoreply_end"] == "2099-07-15T16:30:00Z"
    assert (body["autoreply_days"], body["autoreply_state"]) == (7, "scheduled")
    assert body["autoreply_addresses"] is None
    alice.refresh_from_db()
    assert alice.autoreply_start == datetime(2099, 7, 1, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize("start, end, enabled, state", [
    (-DAY, DAY, True, "active"),
    (DAY, 7 * DAY, True, "scheduled"),
    (None, None, True, "active"),
    (-DAY, DAY, False, "off"),
])
def test_the_api_says_whether_the_auto_reply_answers_now(api, owner, alice, start, end,
                                                          enabled, state):
    now = timezone.now()
    body = {"autoreply_enabled": enabled,
            "autoreply_start": iso(now + start) if start else None,
            "autoreply_end": iso(now + end) if end else None}
    response = patch(api, owner, alice, **body)
    assert response.status_code == 200, response.content
    assert response.json()["autoreply_state"] == state
    listed = api(owner).get("/api/v1/addresses/").json()["results"]
    assert [a["autoreply_state"] for a in listed if a["id"] == alice.pk] == [state]


def test_an_auto_reply_whose_period_is_over_reads_ended(api, owner, alice):
    enable(owner, alice, autoreply_end=timezone.now() + DAY)
    Address.objects.filter(pk=alice.pk).update(autoreply_end=timezone.now() - timedelta(hours=1))
    assert api(owner).get(f"/api/v1/addresses/{alice.pk}/").json()["autoreply_state"] == "ended"


def test_autoreply_state_is_read_only(api, owner, alice):
    response = patch(api, owner, alice, autoreply_state="active")
    assert response.status_code == 200 and response.json()["autoreply_state"] == "off"


@pytest.mark.parametrize("body, field", [
    ({"autoreply_start": "2099-07-15T00:00:00Z", "autoreply_end": "2099-07-01T00:00:00Z"},
     "autoreply_end"),
    ({"autoreply_start": "2099-07-01T00:00:00Z", "autoreply_end": "2099-07-01T00:00:00Z"},
     "autoreply_end"),
    ({"autoreply_end": "2020-01-01T00:00:00Z"}, "autoreply_end"),
    ({"autoreply_days": limits.AUTOREPLY_DAYS_MIN - 1}, "autoreply_days"),
    ({"autoreply_days": limits.AUTOREPLY_DAYS_MAX + 1}, "autoreply_days"),
    ({"autoreply_addresses": ["bob@domain.xyz"]}, "autoreply_addresses"),
    ({"autoreply_addresses": ["alice@elsewhere.example"]}, "autoreply_addresses"),
    ({"autoreply_time_zone": "Mars/Olympus"}, "autoreply_time_zone"),
])
def test_a_wrong_auto_reply_is_refused_on_its_field(api, owner, alice, body, field):
    response = patch(api, owner, alice, autoreply_enabled=True, **body)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    alice.refresh_from_db()
    assert not alice.autoreply_enabled


def test_an_ended_period_may_be_kept_once_the_auto_reply_is_off(api, owner, alice):
    response = patch(api, owner, alice, autoreply_enabled=False,
                     autoreply_end="2020-01-01T00:00:00Z")
    assert response.status_code == 200 and response.json()["autoreply_state"] == "off"


@pytest.mark.parametrize("days", [limits.AUTOREPLY_DAYS_MIN, limits.AUTOREPLY_DAYS_MAX])
def test_the_interval_limits_are_accepted(api, owner, alice, days):
    response = patch(api, owner, alice, autoreply_enabled=True, autoreply_days=days)
    assert response.status_code == 200, response.content
    assert f":days {days} " in active_script(Address.objects.get(pk=alice.pk))


def test_the_addresses_answered_for_are_the_address_and_its_chosen_aliases(api, owner, alice):
    services.alias_create(actor=owner, address=alice, local_part="sales")
    services.alias_create(actor=owner, address=alice, local_part="support")
    response = patch(api, owner, alice, autoreply_enabled=True,
                     autoreply_addresses=["SALES@domain.xyz", "alice@domain.xyz", "sales@domain.xyz"])
    assert response.status_code == 200, response.content
    assert response.json()["autoreply_addresses"] == ["sales@domain.xyz", "alice@domain.xyz"]
    script = active_script(Address.objects.get(pk=alice.pk))
    assert ':addresses ["alice@domain.xyz", "sales@domain.xyz"]' in script


def test_by_default_every_alias_is_answered_for_even_one_added_later(owner, alice):
    services.alias_create(actor=owner, address=alice, local_part="sales")
    enable(owner, alice)
    services.alias_create(actor=owner, address=alice, local_part="info")
    script = active_script(Address.objects.get(pk=alice.pk))
    assert ':addresses ["alice@domain.xyz", "info@domain.xyz", "sales@domain.xyz"]' in script


def test_a_removed_alias_is_no_longer_answered_for(owner, alice):
    sales = services.alias_create(actor=owner, address=alice, local_part="sales")
    enable(owner, alice, autoreply_addresses=["sales@domain.xyz"])
    services.alias_delete(actor=owner, alias=sales)
    assert ':addresses ["alice@domain.xyz"]' in active_script(Address.objects.get(pk=alice.pk))


def test_the_period_reaches_the_live_script(owner, alice):
    enable(owner, alice, autoreply_start=datetime(2099, 7, 1, 7, 0, 0, 500, tzinfo=UTC),
           autoreply_end=datetime(2099, 7, 15, 16, 30, tzinfo=UTC), autoreply_days=3)
    script = active_script(Address.objects.get(pk=alice.pk))
    assert '"ge" "iso8601" "2099-07-01T07:00:00Z"' in script
    assert '"lt" "iso8601" "2099-07-15T16:30:00Z"' in script
    assert "vacation :days 3 " in script


def test_a_user_with_manage_autoreply_may_set_the_period(api, owner, alice, member):
    services.access_grant(actor=owner, address=alice, user=member, permissions=["manage_autoreply"])
    response = patch(api, member, alice, autoreply_enabled=True, autoreply_days=5,
                     autoreply_start=iso(timezone.now() + DAY), autoreply_time_zone="Europe/Paris")
    assert response.status_code == 200, response.content
    assert response.json()["autoreply_state"] == "scheduled"
    assert patch(api, member, alice, display_name="x").status_code == 403


def test_the_change_of_period_is_audited(api, owner, alice):
    from manager.audit.models import AuditEntry

    patch(api, owner, alice, autoreply_enabled=True, autoreply_days=4)
    entry = AuditEntry.objects.filter(object_id=str(alice.pk)).latest("pk")
    assert entry.changes["autoreply_days"] == [1, 4]


def test_off_when_the_advanced_script_runs_instead(owner, alice):
    enable(owner, alice)
    assert alice.autoreply_state == "active"
    services.sieve_set(actor=owner, address=alice, mode="advanced", script="keep;\n")
    alice.refresh_from_db()
    assert alice.autoreply_state == "off"


# --- the pages ---------------------------------------------------------------------------

def detail(client, user, address):
    client.force_login(user)
    return f"/mail/addresses/{address.pk}/"


def form(**values):
    data = {"operation": "autoreply", "autoreply_enabled": "on", "autoreply_subject": "Away",
            "autoreply_body": "Back soon", "autoreply_days": "1",
            "autoreply_time_zone": "Europe/Paris"}
    data.update(values)
    return {k: v for k, v in data.items() if v is not None}


def test_the_period_typed_is_read_in_the_browser_s_time_zone(client, owner, alice):
    url = detail(client, owner, alice)
    response = client.post(url, form(autoreply_start="2099-07-01T09:00",
                                     autoreply_end="2099-12-24T18:00", autoreply_days="7"))
    assert response.status_code == 302, response.content
    alice.refresh_from_db()
    # Paris is UTC+2 in July and UTC+1 in December.
    assert alice.autoreply_start == datetime(2099, 7, 1, 7, 0, tzinfo=UTC)
    assert alice.autoreply_end == datetime(2099, 12, 24, 17, 0, tzinfo=UTC)
    assert (alice.autoreply_days, alice.autoreply_time_zone) == (7, "Europe/Paris")
    page = client.get(url).content.decode()
    assert 'value="2099-07-01T09:00"' in page and 'value="2099-12-24T18:00"' in page
    assert 'data-autoreply-state="scheduled"' in page and "Europe/Paris" in page


def test_without_a_zone_from_the_browser_the_server_s_is_used(client, owner, alice, settings):
    url = detail(client, owner, alice)
    assert client.post(url, form(autoreply_start="2099-07-01T09:00",
                                 autoreply_time_zone="")).status_code == 302
    alice.refresh_from_db()
    assert alice.autoreply_start == datetime(2099, 7, 1, 9, 0, tzinfo=UTC)  # TIME_ZONE = UTC
    assert alice.autoreply_time_zone == settings.TIME_ZONE


def test_the_empty_zone_field_is_left_for_the_browser_until_a_period_exists(client, owner, alice):
    url = detail(client, owner, alice)
    page = client.get(url).content.decode()
    assert 'name="autoreply_time_zone" value=""' not in page  # no value attribute at all
    assert 'data-browser-time-zone' in page


def test_the_state_is_on_the_list_and_the_detail_page(client, owner, alice, premium):
    bob = services.address_create(actor=owner, service=premium, local_part="bob")
    enable(owner, alice, autoreply_start=timezone.now() - DAY, autoreply_end=timezone.now() + DAY)
    enable(owner, bob, autoreply_start=timezone.now() + DAY)
    client.force_login(owner)
    listing = client.get("/mail/addresses/").content.decode()
    assert listing.count('data-autoreply-state="active"') == 1
    assert listing.count('data-autoreply-state="scheduled"') == 1
    page = client.get(f"/mail/addresses/{alice.pk}/").content.decode()
    assert 'data-autoreply-state="active"' in page and "until" in page


@pytest.mark.parametrize("values, field", [
    ({"autoreply_start": "2099-07-15T00:00", "autoreply_end": "2099-07-01T00:00"}, "autoreply_end"),
    ({"autoreply_end": "2020-07-01T00:00"}, "autoreply_end"),
    ({"autoreply_days": "0"}, "autoreply_days"),
    ({"autoreply_days": str(limits.AUTOREPLY_DAYS_MAX + 1)}, "autoreply_days"),
    ({"autoreply_start": "yesterday"}, "autoreply_start"),
])
def test_a_wrong_auto_reply_is_a_form_error(client, owner, alice, values, field):
    url = detail(client, owner, alice)
    response = client.post(url, form(**values))
    assert response.status_code == 400
    errors = response.context["autoreply_form"].errors
    assert field in errors, errors
    alice.refresh_from_db()
    assert not alice.autoreply_enabled


def test_the_french_messages_of_the_period(client, owner, alice):
    url = detail(client, owner, alice)
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    response = client.post(url, form(autoreply_start="2099-07-15T00:00",
                                     autoreply_end="2099-07-01T00:00"))
    assert "La fin doit être après le début." in response.context["autoreply_form"].errors["autoreply_end"]
    response = client.post(url, form(autoreply_end="2020-07-01T00:00"))
    assert any("passé" in e for e in response.context["autoreply_form"].errors["autoreply_end"])
    page = client.get(url).content.decode()
    assert "Jours entre deux réponses au même expéditeur" in page
    assert 'data-autoreply-state="off"' in page and "Désactivé" in page


def test_the_aliases_are_offered_and_all_ticked_means_all(client, owner, alice):
    services.alias_create(actor=owner, address=alice, local_part="sales")
    services.alias_create(actor=owner, address=alice, local_part="support")
    url = detail(client, owner, alice)
    assert client.post(url, form(autoreply_addresses=["sales@domain.xyz"])).status_code == 302
    alice.refresh_from_db()
    assert alice.autoreply_addresses == ["sales@domain.xyz"]
    page = client.get(url).content.decode()
    assert 'value="sales@domain.xyz"' in page and 'value="support@domain.xyz"' in page
    assert client.post(url, form(autoreply_addresses=["sales@domain.xyz", "support@domain.xyz"])
                       ).status_code == 302
    alice.refresh_from_db()
    assert alice.autoreply_addresses is None


def test_a_forged_alias_choice_is_a_form_error(client, owner, alice):
    services.alias_create(actor=owner, address=alice, local_part="sales")
    url = detail(client, owner, alice)
    response = client.post(url, form(autoreply_addresses=["ceo@domain.xyz"]))
    assert response.status_code == 400
    assert "autoreply_addresses" in response.context["autoreply_form"].errors


def test_the_desired_state_of_many_auto_replies_takes_no_query_per_address(
        owner, premium, django_assert_max_num_queries):
    from mailservice.desired import desired_state

    premium.capacity = 100
    premium.save()
    for i in range(30):
        address = services.address_create(actor=owner, service=premium, local_part=f"u{i}")
        services.alias_create(actor=owner, address=address, local_part=f"alias{i}")
        Address.objects.filter(pk=address.pk).update(autoreply_enabled=True, autoreply_days=2)
    # Constant whatever the number of addresses: the service, addresses, aliases, forwards,
    # device passwords, rules, the users of each address (sender grants), the signing DKIM
    # key, the synonym domains, the addresses' signature settings (none here; with a
    # template active, two more: their users and signatures).
    with django_assert_max_num_queries(9):
        state = desired_state(premium)
    by_email = {box.email: box.sieve_script for box in state.mailboxes}
    assert ':addresses ["u7@domain.xyz", "alias7@domain.xyz"]' in by_email["u7@domain.xyz"]

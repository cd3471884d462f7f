"""The one ban service: web login, API tokens and Dovecot's policy requests (IMAP,
ManageSieve, SMTP AUTH) share the counts and the bans."""
from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient

from mailservice import services
from mailservice.models import DevicePassword
from manager.audit.models import AuditEntry
from manager.security import services as bans
from manager.security.models import AuthFailure, Ban
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
POLICY = "/internal/dovecot-policy/"


@pytest.fixture(autouse=True)
def small_limits(settings):
    settings.BANS = {"account_failures": 3, "account_window_seconds": 900,
                     "spray_accounts": 4, "spray_window_seconds": 900, "ban_seconds": 600}
    # The per-process web throttle stays out of the way: the bans are under test.
    settings.AUTH_LIMITS = {kind: {"per_account": 1000, "per_ip": 1000, "window_seconds": 900}
                            for kind in ("login", "token", "invitation", "password_reset")}
    settings.MAIL_POLICY_SECRET = "s3cret"


def policy(client, command, body):
    return client.post(f"{POLICY}?command={command}", body, content_type="application/json",
                       HTTP_X_MAIL_MANAGER_POLICY="s3cret")


def log_in(client, email, password, ip="192.0.2.1"):
    return client.post("/accounts/login/", {"username": email, "password": password}, REMOTE_ADDR=ip)


def test_ipv4_is_counted_per_address_and_ipv6_per_64():
    assert bans.network_of("192.0.2.7") == "192.0.2.7/32"
    assert bans.network_of("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert bans.network_of("::ffff:192.0.2.7") == "192.0.2.7/32"
    assert bans.network_of("not an ip") is None


def test_failures_ban_the_account_from_that_network_only():
    for _ in range(2):
        assert bans.record_failure("192.0.2.1", "Alice@x.test", protocol="imap") is None
    ban = bans.record_failure("192.0.2.1", "alice@x.test", protocol="imap")
    assert (ban.network, ban.account, ban.reason) == ("192.0.2.1/32", "alice@x.test", "failures")
    assert bans.active_ban("192.0.2.1", "ALICE@x.test") == ban
    assert bans.active_ban("192.0.2.1", "bob@x.test") is None  # other accounts from there
    assert bans.active_ban("192.0.2.2", "alice@x.test") is None  # the account elsewhere


def test_another_address_of_the_same_ipv6_64_is_banned_too():
    for host in ("1", "2", "3"):
        bans.record_failure(f"2001:db8::{host}", "alice@x.test", protocol="imap")
    assert bans.active_ban("2001:db8::ffff:1", "alice@x.test") is not None
    assert bans.active_ban("2001:db8:0:1::1", "alice@x.test") is None


def test_spraying_many_accounts_bans_the_whole_network():
    for i in range(3):
        assert bans.record_failure("192.0.2.9", f"p{i}@x.test", protocol="web") is None
    ban = bans.record_failure("192.0.2.9", "p3@x.test", protocol="web")
    assert (ban.account, ban.reason) == ("", "spraying")
    assert bans.active_ban("192.0.2.9", "anyone@else.test") == ban


def test_retries_while_banned_never_extend_the_ban():
    for _ in range(3):
        ban = bans.record_failure("192.0.2.1", "alice@x.test", protocol="smtp")
    counted = AuthFailure.objects.count()
    for _ in range(10):
        assert bans.record_failure("192.0.2.1", "alice@x.test", protocol="smtp") is None
    assert AuthFailure.objects.count() == counted
    assert Ban.objects.get().expires == ban.expires


def test_an_expired_ban_refuses_nothing():
    for _ in range(3):
        ban = bans.record_failure("192.0.2.1", "alice@x.test", protocol="imap")
    Ban.objects.filter(pk=ban.pk).update(expires=timezone.now() - timedelta(seconds=1))
    assert bans.active_ban("192.0.2.1", "alice@x.test") is None


def test_a_forged_forwarded_for_changes_nothing_without_a_trusted_proxy(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.5", HTTP_X_FORWARDED_FOR="10.9.9.9")
    settings.TRUSTED_PROXIES = []
    assert bans.client_ip(request) == "198.51.100.5"
    settings.TRUSTED_PROXIES = ["192.0.2.0/24"]
    assert bans.client_ip(request) == "198.51.100.5"  # not a trusted proxy


def test_behind_a_trusted_proxy_the_last_untrusted_hop_is_the_client(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.5, 10.0.0.1")
    assert bans.client_ip(request) == "198.51.100.5"  # 6.6.6.6 is the client's own claim


def test_web_login_failures_ban_the_account_even_with_the_right_password(client, owner):
    for _ in range(3):
        assert log_in(client, owner.email, "wrong").status_code == 200
    assert log_in(client, owner.email, PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session
    assert log_in(client, owner.email, PASSWORD, ip="192.0.2.50").status_code == 302


def test_mail_failures_ban_the_web_login_too_and_the_reverse(client, owner):
    for _ in range(3):
        policy(client, "report", {"login": owner.email, "remote": "192.0.2.1", "protocol": "imap",
                                  "success": False})
    assert log_in(client, owner.email, PASSWORD).status_code == 429
    assert policy(client, "allow", {"login": owner.email, "remote": "192.0.2.1"}).json()["status"] == -1
    assert policy(client, "allow", {"login": owner.email, "remote": "192.0.2.2"}).json()["status"] == 0


def test_a_policy_rejected_attempt_is_not_counted_again(client):
    for _ in range(5):
        policy(client, "report", {"login": "a@x.test", "remote": "192.0.2.1", "success": False,
                                  "policy_reject": True})
    assert AuthFailure.objects.count() == 0


def test_bad_tokens_ban_every_token_from_that_network(owner):
    from manager.accounts.services import api_token_create

    _token, raw = api_token_create(actor=owner, name="ci")
    api = APIClient(REMOTE_ADDR="192.0.2.1")
    for _ in range(3):
        api.credentials(HTTP_AUTHORIZATION="Bearer guessed")
        assert api.get("/api/v1/organisations/").status_code == 401
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/organisations/").status_code == 429
    other = APIClient(REMOTE_ADDR="192.0.2.2")
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert other.get("/api/v1/organisations/").status_code == 200


def test_an_account_banned_from_a_network_cannot_use_its_token_from_there(owner):
    from manager.accounts.services import api_token_create

    _token, raw = api_token_create(actor=owner, name="ci")
    for _ in range(3):
        bans.record_failure("192.0.2.1", owner.email, protocol="web")
    api = APIClient(REMOTE_ADDR="192.0.2.1")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/organisations/").status_code == 429


def test_a_successful_mail_login_records_the_devices_time_address_and_protocol(client, owner, alice):
    services.access_grant(actor=owner, address=alice, user=owner, permissions=["read"])
    device, _ = services.device_password_create(actor=owner, address=alice, name="laptop")
    policy(client, "report", {"login": alice.email, "remote": "2001:db8::5", "protocol": "imap",
                              "success": True, "device": str(device.ref)})
    device = DevicePassword.objects.get(pk=device.pk)
    assert (device.last_used_ip, device.last_used_protocol) == ("2001:db8::5", "imap")
    assert device.last_used is not None
    # Another protocol a moment later is recorded at once.
    policy(client, "report", {"login": alice.email, "remote": "2001:db8::5", "protocol": "submission",
                              "success": True, "device": str(device.ref)})
    assert DevicePassword.objects.get(pk=device.pk).last_used_protocol == "submission"


def test_admins_see_the_bans_of_their_addresses_and_lift_them_audited(owner, organisation, alice):
    for _ in range(3):
        ban = bans.record_failure("192.0.2.1", alice.email, protocol="imap")
    for _ in range(3):
        bans.record_failure("192.0.2.1", "stranger@elsewhere.test", protocol="imap")
    assert bans.bans_affecting(organisation) == [ban]
    bans.ban_lift(actor=owner, organisation=organisation, ban=ban)
    assert bans.active_ban("192.0.2.1", alice.email) is None
    assert bans.bans_affecting(organisation) == []
    entry = AuditEntry.objects.get(verb="ban.lift")
    assert entry.organisation_id == organisation.pk and entry.actor == owner

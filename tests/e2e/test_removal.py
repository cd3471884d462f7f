"""Removing an address or a mail service against the real Dovecot + Postfix, through the API
and a real Celery worker: not served at once, its mail still there after a restore, and
gone for good (mail home, Dovecot user) after the purge that follows the grace period.
The purge is run for a moment past the grace period, passed to the task: the clock of
no process is faked."""

import sqlite3
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from mailservice.models import Address, MailService
from manager.core.models import PushJob

from .test_pipeline import API, Scenario, scenario  # noqa: F401 - the fixture

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def past_the_grace_period() -> str:
    return (timezone.now() + timedelta(days=settings.MAIL_REMOVAL_GRACE_DAYS, hours=1)).isoformat()


def purge_and_wait(model, pk, timeout=30.0):
    """What the hourly beat entry does, for a moment past the grace period."""
    from mailservice.tasks import purge_removed_mail

    purge_removed_mail.delay(now=past_the_grace_period())
    deadline = time.monotonic() + timeout
    while model.with_removed.filter(pk=pk).exists():
        assert time.monotonic() < deadline, f"{model.__name__} {pk} not purged after {timeout}s"
        time.sleep(0.2)


def wait_pushed(domain: str, timeout: float = 15.0) -> None:
    """For a removed service, whose sync endpoint is a 404 like the service itself."""
    deadline = time.monotonic() + timeout
    while (job := PushJob.objects.get(target_id=domain)).sync_status != "applied":
        assert job.sync_status != "failed", job.last_error
        assert time.monotonic() < deadline, f"not applied after {timeout}s: {job}"
        time.sleep(0.1)


def doveadm_knows(stack, email: str) -> bool:
    proc = stack.backend().tools.doveadm("user", email, ok_codes=None)
    if proc.returncode == 67:  # EX_NOUSER: "userdb lookup: user … doesn't exist"
        return False
    assert proc.returncode == 0, proc.stderr
    return True


def user_db_rows(stack, email: str) -> dict[str, int]:
    with sqlite3.connect(stack.config.user_db) as db:
        return {table: db.execute(f"SELECT count(*) FROM {table} WHERE email = ?", (email,)).fetchone()[0]
                for table in ("mailboxes", "device_passwords", "sieve_pushed", "sieve_fallback")}


def test_removed_address_keeps_its_mail_for_a_restore_and_loses_it_in_the_purge(
        scenario: Scenario, owner, mail_stack):  # noqa: F811 - the fixture imported above
    service = scenario.service("removal.pipeline.test")
    alice = scenario.address(service, "alice")
    scenario.grant(alice, owner)
    phone = scenario.device(alice, "Phone")
    scenario.ok(scenario.client.post(f"{API}/addresses/{alice['id']}/rules/", {
        "name": "Invoices", "conditions": [{"field": "subject", "operator": "contains",
                                            "value": "invoice"}],
        "actions": [{"kind": "move", "argument": "Invoices"}]}, format="json"), 201)
    scenario.wait_applied(service)
    kept = scenario.send(alice["email"], subject="before the removal")
    assert scenario.has_message(phone["login"], kept)
    home = mail_stack.backend().purge.home(alice["email"])
    assert (home / "Maildir").is_dir() and (home / "sieve").is_dir()

    scenario.ok(scenario.client.delete(f"{API}/addresses/{alice['id']}/"), 204)
    scenario.wait_applied(service)
    assert scenario.rcpt(alice["email"]) == 550
    assert scenario.refused(phone["login"]) == [True]
    assert home.is_dir()  # kept for the restore
    response = scenario.client.post(f"{API}/addresses/", {"mail_service": service["id"],
                                                          "local_part": "alice"}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "local_part_removed"

    scenario.ok(scenario.client.post(f"{API}/addresses/{alice['id']}/restore/"), 200)
    scenario.wait_applied(service)
    assert scenario.has_message(phone["login"], kept, wait=0)  # the same device, the same mail
    assert scenario.rcpt(alice["email"]) == 250
    assert scenario.drift(service["domain"]) == []

    scenario.ok(scenario.client.delete(f"{API}/addresses/{alice['id']}/"), 204)
    scenario.wait_applied(service)
    purge_and_wait(Address, alice["id"])

    assert not home.exists()
    assert not doveadm_knows(mail_stack, alice["email"])
    assert user_db_rows(mail_stack, alice["email"]) == {
        "mailboxes": 0, "device_passwords": 0, "sieve_pushed": 0, "sieve_fallback": 0}
    assert scenario.drift(service["domain"]) == []
    # The local part is free again, and the new mailbox starts empty.
    again = scenario.address(service, "alice")
    scenario.grant(again, owner)
    laptop = scenario.device(again, "Laptop")
    scenario.wait_applied(service)
    assert not scenario.has_message(laptop["login"], kept, wait=0)


def test_removed_service_is_restored_with_its_mail_then_purged_with_its_domain_directory(
        scenario: Scenario, owner, mail_stack):  # noqa: F811 - the fixture imported above
    service = scenario.service("gone.pipeline.test")
    bob = scenario.address(service, "bob")
    scenario.grant(bob, owner)
    tablet = scenario.device(bob, "Tablet")
    scenario.wait_applied(service)
    kept = scenario.send(bob["email"], subject="kept")
    assert scenario.has_message(tablet["login"], kept)
    home = mail_stack.backend().purge.home(bob["email"])

    scenario.ok(scenario.client.delete(f"{API}/mail-services/{service['id']}/"), 204)
    wait_pushed(service["domain"])
    assert scenario.rcpt(bob["email"]) != 250
    assert not doveadm_knows(mail_stack, bob["email"]) and home.is_dir()

    scenario.ok(scenario.client.post(f"{API}/mail-services/{service['id']}/restore/"), 200)
    scenario.wait_applied(service)
    assert scenario.has_message(tablet["login"], kept, wait=0)

    scenario.ok(scenario.client.delete(f"{API}/mail-services/{service['id']}/"), 204)
    wait_pushed(service["domain"])
    purge_and_wait(MailService, service["id"])

    assert not home.exists() and not home.parent.exists()  # …/vmail/gone.pipeline.test
    assert not doveadm_knows(mail_stack, bob["email"])
    assert mail_stack.backend().domains().count("gone.pipeline.test") == 0

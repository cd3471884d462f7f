"""The last good script comes back when a pushed one stops delivery, and the address says so.

The adapter's bookkeeping runs here on a real user database with doveadm and postqueue
replaced by a recorder (what they do to real daemons is tests/e2e/test_sieve_fallback.py);
the engine's check is the real sievec/sieve-test where the test needs it."""
from dataclasses import replace
from datetime import timedelta

import pytest
from django.utils import timezone

from mailservice import push
from mailservice.backends import sieve_store
from mailservice.backends.base import (
    ApplyReport,
    MailboxState,
    ServiceState,
    SieveHold,
    drift,
    script_sha,
)
from mailservice.backends.config import DovecotPostfixConfig
from mailservice.backends.sieve_store import SieveStore
from mailservice.backends.user_db import UserDatabase
from mailservice.models import Address
from mailservice.services.sieve_status import record_sieve_holds
from manager.audit.models import AuditEntry
from tests.factories import grant

D = "fallback.test"
ALICE, BOB = f"alice@{D}", f"bob@{D}"
GOOD = 'require "fileinto";\nif header :contains "subject" "report" { fileinto "Reports"; }\n'
BAD = 'require "fileinto";\nif header :matches "subject" "abc\\\\" { fileinto "X"; }\n'
NEWER = 'require "fileinto";\nif header :contains "from" "boss" { fileinto "Boss"; }\n'


class RecordingTools:
    """doveadm and postqueue as calls written down; what is active per mailbox as a dict."""

    def __init__(self, config):
        self.config = config
        self.calls = []
        self.active = {}

    def doveadm(self, *args, input=None, ok_codes=(0,)):
        self.calls.append(args)
        if args[:2] == ("sieve", "put"):
            self.active[args[4]] = input
        elif args[:2] == ("sieve", "deactivate"):
            self.active[args[3]] = None

    def doveadm_json(self, *args):
        return []  # nothing active before the first push

    def flush_queue(self):
        self.calls.append(("postqueue", "-f"))


@pytest.fixture
def store(tmp_path, monkeypatch):
    config = DovecotPostfixConfig(dovecot_conf=tmp_path / "dovecot.conf",
                                  postfix_dir=tmp_path / "postfix", user_db=tmp_path / "users.db",
                                  maps_dir=tmp_path / "maps", db_group=None,
                                  dovecot_log=tmp_path / "dovecot.log")
    config.dovecot_log.write_text("Dec 01 11:00:00 master: Info: Dovecot starting up\n")
    user_db = UserDatabase(config)
    user_db.ensure()
    tools = RecordingTools(config)
    # The engine's verdict without running it, except where a test asks for the real one.
    monkeypatch.setattr(sieve_store, "engine_errors_or_none", lambda script, header: ())
    return SieveStore(user_db, tools)


def state(**scripts):
    return ServiceState(domain=D, mailboxes=tuple(
        MailboxState(email=f"{local}@{D}", enabled=True, quota_mb=0, sieve_script=script)
        for local, script in scripts.items()))


def crash(store, email, reason="file mcht-matches.c: line 102: assertion failed"):
    with open(store.tools.config.dovecot_log, "a") as log:
        log.write(f"Dec 01 11:01:22 lmtp({email})<19445><sess{len(store.tools.calls)}>: "
                  f"Panic: {reason}\n")


def test_a_delivery_failure_puts_the_previous_script_back_and_flushes_the_queue(store):
    store.sync(state(alice=GOOD, bob=GOOD))
    store.sync(state(alice=BAD, bob=GOOD))
    assert store.tools.active == {ALICE: BAD, BOB: GOOD}
    crash(store, ALICE)
    [hold] = store.check_deliveries()
    assert (hold.email, hold.kind, hold.sha256, hold.restored) == (
        ALICE, SieveHold.STOPPED_DELIVERY, script_sha(BAD), True)
    assert "mcht-matches.c" in hold.reason
    assert store.tools.active == {ALICE: GOOD, BOB: GOOD}
    assert store.tools.calls[-1] == ("postqueue", "-f")
    # Read once: the next look finds nothing new.
    assert store.check_deliveries() == []


def test_the_same_desired_script_is_not_activated_again_and_stays_reported(store):
    store.sync(state(alice=GOOD))
    store.sync(state(alice=BAD))
    crash(store, ALICE)
    [hold] = store.check_deliveries()
    calls = len(store.tools.calls)
    assert store.sync(state(alice=BAD)) == (hold,)
    assert len(store.tools.calls) == calls and store.tools.active[ALICE] == GOOD
    assert store.held(D) == {ALICE: hold}
    # The address changes its script: the new one is activated and the hold is gone.
    assert store.sync(state(alice=NEWER)) == ()
    assert store.tools.active[ALICE] == NEWER and store.held(D) == {}


def test_without_a_previous_script_the_mailbox_runs_none(store):
    store.sync(state(alice=BAD))
    crash(store, ALICE)
    [hold] = store.check_deliveries()
    assert not hold.restored and store.tools.active[ALICE] is None


def test_a_restored_script_that_fails_in_its_turn_leaves_none(store):
    store.sync(state(alice=GOOD))
    store.sync(state(alice=BAD))
    crash(store, ALICE)
    store.check_deliveries()
    crash(store, ALICE, reason="the restored one fails too")
    [hold] = store.check_deliveries()
    assert hold.sha256 == script_sha(GOOD) and not hold.restored
    assert store.tools.active[ALICE] is None


def test_a_failure_logged_before_the_script_became_active_is_an_older_scripts(store):
    store.sync(state(alice=BAD))
    crash(store, ALICE)
    store.sync(state(alice=GOOD))  # fixed before the watch came round
    assert store.check_deliveries() == []
    assert store.tools.active[ALICE] == GOOD


def test_failures_of_mailboxes_without_a_pushed_script_are_left_alone(store):
    store.sync(state(alice=None))
    crash(store, ALICE)
    crash(store, "stranger@elsewhere.test")
    assert store.check_deliveries() == []
    assert ("postqueue", "-f") not in store.tools.calls


def test_a_rotated_log_is_read_from_its_start(store):
    store.sync(state(alice=GOOD))
    store.sync(state(alice=BAD))
    assert store.check_deliveries() == []
    path = store.tools.config.dovecot_log
    path.rename(path.with_suffix(".1"))
    path.write_text("")
    crash(store, ALICE)
    assert [h.email for h in store.check_deliveries()] == [ALICE]


def test_the_worker_refuses_a_script_the_engine_cannot_run_and_applies_the_rest(
        store, monkeypatch, sieve_test):
    monkeypatch.undo()  # the real engine
    store.sync(state(alice=GOOD, bob=None))
    holds = store.sync(state(alice=BAD, bob=GOOD))
    [hold] = holds
    assert (hold.email, hold.kind) == (ALICE, SieveHold.REFUSED)
    assert "engine stops" in hold.reason and "mcht-matches.c" in hold.reason
    assert store.tools.active == {ALICE: GOOD, BOB: GOOD}


# --- drift ------------------------------------------------------------------------------

def test_drift_does_not_count_a_held_script_but_counts_any_other_difference():
    desired = state(alice=BAD)
    actual = state(alice=GOOD)
    held = replace(actual, mailboxes=(replace(actual.mailboxes[0],
                                              held_sieve_sha256=script_sha(BAD)),))
    assert drift(desired, held) == []
    assert drift(desired, actual) == [f"mailbox {ALICE}: sieve script differs"]
    assert drift(state(alice=NEWER), held) == [f"mailbox {ALICE}: sieve script differs"]


# --- the address's status ---------------------------------------------------------------

def hold_for(address, kind=SieveHold.STOPPED_DELIVERY, *, at=None, restored=True):
    return SieveHold(email=address.email.upper(), sha256="ab" * 32, kind=kind,
                     reason="file mcht-matches.c: assertion failed",
                     at=(at or timezone.now()).timestamp(), restored=restored)


@pytest.mark.django_db
def test_a_fallback_is_recorded_on_the_address_once_with_an_audit_entry(alice):
    hold = hold_for(alice)
    assert record_sieve_holds([hold]) == [alice]
    alice.refresh_from_db()
    assert alice.sieve_failure == Address.SieveFailure.STOPPED_DELIVERY
    assert alice.sieve_sync_error.startswith("The pushed filters stopped delivery on ")
    assert alice.sieve_sync_error.endswith(
        "file mcht-matches.c: assertion failed; the previous filters are active again.")
    assert record_sieve_holds([hold]) == []
    entries = AuditEntry.objects.filter(verb="sieve.fell_back", object_id=str(alice.pk))
    assert entries.count() == 1 and entries[0].organisation_id == alice.mail_service.organisation_id


@pytest.mark.django_db
def test_a_push_clears_the_failures_it_no_longer_reports_but_not_newer_ones(
        owner, alice, premium):
    from tests.factories import make_address

    bob = make_address(owner, premium, "bob")
    started = timezone.now()
    record_sieve_holds([hold_for(alice, at=started - timedelta(minutes=5)),
                        hold_for(bob, at=started + timedelta(seconds=1))])
    record_sieve_holds([], service=premium, since=started)
    alice.refresh_from_db()
    bob.refresh_from_db()
    assert alice.sieve_failure == "" and alice.sieve_sync_error == ""
    assert bob.sieve_failure == Address.SieveFailure.STOPPED_DELIVERY


@pytest.mark.django_db
def test_a_push_records_the_holds_its_backend_reports(alice, premium, monkeypatch):
    class Backend:
        def apply(self, desired):
            return ApplyReport(sieve_holds=(hold_for(alice, SieveHold.REFUSED),))

        def check_deliveries(self):
            return []

    monkeypatch.setattr(push, "backend_for", lambda host: Backend())
    push.push_mail_service(premium.domain)
    alice.refresh_from_db()
    assert alice.sieve_failure == Address.SieveFailure.REFUSED
    assert "the filters active before stay in place" in alice.sieve_sync_error


def test_the_periodic_watch_asks_each_host_on_its_own_queue(settings, tmp_path, monkeypatch):
    from mailservice import tasks

    config = tmp_path / "hosts.json"
    config.write_text('{"hosts": {"default": {}, "mx2": {}}}')
    settings.MAIL_BACKEND_CONFIG = str(config)
    push.forget_hosts()
    sent = []
    monkeypatch.setattr(tasks.check_sieve_deliveries, "apply_async",
                        lambda args, queue: sent.append((args, queue)))
    try:
        assert tasks.watch_sieve_deliveries() == 2
    finally:
        push.forget_hosts()
    assert sorted(sent) == [(("default",), "mail-default"), (("mx2",), "mail-mx2")]
    assert "watch-sieve-deliveries" in settings.CELERY_BEAT_SCHEDULE


@pytest.mark.django_db
def test_the_api_shows_the_failure_read_only(api, owner, alice):
    record_sieve_holds([hold_for(alice, restored=False)])
    client = api(owner)
    body = client.get(f"/api/v1/addresses/{alice.pk}/").json()
    assert body["sieve_sync_error"].endswith("no filters are active until they are changed.")
    assert body["sieve_sync_error_at"] is not None
    response = client.patch(f"/api/v1/addresses/{alice.pk}/", {"sieve_sync_error": ""},
                            format="json")
    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.sieve_failure == Address.SieveFailure.STOPPED_DELIVERY


@pytest.mark.django_db
def test_the_rules_and_address_pages_show_the_failure_to_who_manages_the_rules(
        client, owner, member, alice):
    record_sieve_holds([hold_for(alice)])
    client.force_login(owner)
    for url in (f"/mail/addresses/{alice.pk}/rules/", f"/mail/addresses/{alice.pk}/"):
        html = client.get(url).content.decode()
        assert 'id="sieve-sync-error"' in html and "previous filters are active again" in html
    grant(owner, alice, member, ["read"])
    client.force_login(member)
    assert 'id="sieve-sync-error"' not in client.get(f"/mail/addresses/{alice.pk}/").content.decode()


@pytest.mark.django_db
def test_an_address_without_failure_shows_nothing(api, owner, alice, client):
    assert api(owner).get(f"/api/v1/addresses/{alice.pk}/").json()["sieve_sync_error"] == ""
    client.force_login(owner)
    assert 'id="sieve-sync-error"' not in client.get(f"/mail/addresses/{alice.pk}/rules/").content.decode()

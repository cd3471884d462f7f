"""The push outbox: same-transaction enqueue, claim by conditional update, retry, re-queue."""
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from manager.core import outbox
from manager.core.models import PushAttempt, PushJob

pytestmark = pytest.mark.django_db


class Recorder:
    def __init__(self):
        self.calls = []
        self.fail_with = None

    def __call__(self, target_id):
        self.calls.append(target_id)
        if self.fail_with:
            raise self.fail_with


@pytest.fixture
def handler(monkeypatch):
    recorder = Recorder()
    outbox.register("test_unit", recorder)
    sent = []
    monkeypatch.setattr(outbox, "send", lambda job, countdown=None: sent.append((job.pk, countdown)))
    recorder.sent = sent
    yield recorder
    # Tests re-register the same kind with their own push; none outlives its test.
    outbox.unregister("test_unit")


def test_job_is_sent_only_after_commit(handler, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = outbox.enqueue("test_unit", 7)
    assert handler.sent == [] and len(callbacks) == 1
    callbacks[0]()
    assert handler.sent == [(job.pk, None)]


def test_rolled_back_change_leaves_no_job(handler):
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox.enqueue("test_unit", 8)
        raise RuntimeError("change refused")
    assert not PushJob.objects.exists()


def test_second_change_bumps_generation_of_the_same_unit(handler):
    outbox.enqueue("test_unit", 1)
    job = outbox.enqueue("test_unit", 1)
    assert PushJob.objects.count() == 1 and job.generation == 2


def test_push_runs_once_and_a_duplicate_delivery_does_nothing(handler):
    job = outbox.enqueue("test_unit", 3)
    assert outbox.run(job.pk) == "done"
    assert outbox.run(job.pk) == "skipped"
    assert handler.calls == ["3"]
    job.refresh_from_db()
    assert job.sync_status == "applied" and job.applied_generation == 1
    assert PushAttempt.objects.filter(job=job, ok=True).count() == 1


def test_claim_is_exclusive(handler):
    job = outbox.enqueue("test_unit", 4)
    assert outbox.claim(job.pk) is not None
    assert outbox.claim(job.pk) is None  # a concurrent worker gets nothing


def test_transient_failure_retries_with_growing_backoff(handler, settings):
    settings.PUSH_RETRY_BASE_SECONDS = 2
    handler.fail_with = outbox.PushError("connection refused")
    job = outbox.enqueue("test_unit", 5)
    assert outbox.run(job.pk) == "retry"
    job.refresh_from_db()
    assert job.state == "pending" and job.attempts == 1 and "refused" in job.last_error
    assert job.sync_status == "pending"
    assert outbox.run(job.pk) == "skipped"  # not due yet
    PushJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())
    assert outbox.run(job.pk) == "retry"
    assert [c for _pk, c in handler.sent if c] == [2, 4]
    handler.fail_with = None
    PushJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())
    assert outbox.run(job.pk) == "done"
    job.refresh_from_db()
    assert job.attempts == 0 and job.last_error == ""
    assert list(PushAttempt.objects.filter(job=job).order_by("id").values_list("ok", flat=True)) == [False, False, True]


def test_permanent_failure_is_recorded_with_the_backend_message(handler):
    handler.fail_with = outbox.PushError("postmap: fatal: bad syntax", permanent=True)
    job = outbox.enqueue("test_unit", 6)
    assert outbox.run(job.pk) == "failed"
    job.refresh_from_db()
    assert job.sync_status == "failed" and job.last_error == "postmap: fatal: bad syntax"
    assert PushAttempt.objects.get(job=job).permanent


def test_too_many_attempts_become_permanent(handler, settings):
    settings.PUSH_MAX_ATTEMPTS = 2
    handler.fail_with = outbox.PushError("timeout")
    job = outbox.enqueue("test_unit", 9)
    assert outbox.run(job.pk) == "retry"
    PushJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())
    assert outbox.run(job.pk) == "failed"


def test_change_during_a_push_triggers_another_push(handler):
    job = outbox.enqueue("test_unit", 10)

    def push_and_change(target_id):
        handler.calls.append(target_id)
        if len(handler.calls) == 1:
            outbox.enqueue("test_unit", 10)

    outbox.register("test_unit", push_and_change)
    assert outbox.run(job.pk) == "again"
    job.refresh_from_db()
    assert job.state == "pending" and job.applied_generation == 1 and job.generation == 2
    assert outbox.run(job.pk) == "done"
    assert handler.calls == ["10", "10"]


def test_requeue_stuck_sends_lost_and_abandoned_jobs(handler, settings):
    settings.PUSH_LEASE_SECONDS = 10
    lost = outbox.enqueue("test_unit", 11)
    abandoned = outbox.enqueue("test_unit", 12)
    outbox.enqueue("test_unit", 13)  # fresh: its message is on the way
    working = outbox.enqueue("test_unit", 15)
    now = timezone.now()
    PushJob.objects.filter(pk=lost.pk).update(updated=now - timedelta(minutes=5))
    # Its worker died 11 s after its last renewal; the other one renewed a second ago.
    PushJob.objects.filter(pk=abandoned.pk).update(state="running", claimed_at=now - timedelta(minutes=5),
                                                   claimed_until=now - timedelta(seconds=1))
    PushJob.objects.filter(pk=working.pk).update(state="running", claimed_at=now - timedelta(minutes=5),
                                                 claimed_until=now + timedelta(seconds=9))
    handler.sent.clear()
    assert outbox.requeue_stuck() == 2
    assert sorted(pk for pk, _ in handler.sent) == sorted([lost.pk, abandoned.pk])
    # the abandoned job can be claimed again by a live worker, the renewed one cannot
    assert outbox.run(abandoned.pk) == "done"
    assert outbox.run(working.pk) == "skipped"


def test_change_during_a_push_leaves_the_job_claimed(handler):
    job = outbox.enqueue("test_unit", 14)
    seen = []

    def push(target_id):
        outbox.enqueue("test_unit", 14)  # a change committed while the push runs
        seen.append(PushJob.objects.get(pk=job.pk).state)
        seen.append(outbox.claim(job.pk))  # what a second worker would get

    outbox.register("test_unit", push)
    assert outbox.run(job.pk) == "again"
    assert seen == ["running", None]


def test_claim_from_before_leases_is_taken_over_once_older_than_a_lease(handler, settings):
    settings.PUSH_LEASE_SECONDS = 10
    job = outbox.enqueue("test_unit", 16)
    PushJob.objects.filter(pk=job.pk).update(state="running", claimed_until=None,
                                             claimed_at=timezone.now() - timedelta(seconds=5))
    assert outbox.claim(job.pk) is None
    PushJob.objects.filter(pk=job.pk).update(claimed_at=timezone.now() - timedelta(seconds=11))
    assert outbox.run(job.pk) == "done"


def test_claim_sets_a_lease_and_a_renewal_extends_only_its_own(handler, settings):
    settings.PUSH_LEASE_SECONDS = 10
    job = outbox.enqueue("test_unit", 17)
    before = timezone.now()
    _job, token = outbox.claim(job.pk)
    job.refresh_from_db()
    assert before + timedelta(seconds=9) < job.claimed_until <= timezone.now() + timedelta(seconds=10)
    assert outbox.renew_lease(job.pk, token)
    assert not outbox.renew_lease(job.pk, "another worker's token")


def test_a_worker_whose_lease_was_taken_over_asks_for_one_more_push(handler, settings):
    """Worker A stalls past its lease; worker B takes the job over and pushes; then A
    finishes and writes what it read before B. A's result is not recorded as B's, and a
    third push of the latest state follows, so the backend ends with the latest state."""
    settings.PUSH_LEASE_SECONDS = 10
    job = outbox.enqueue("test_unit", 18)
    results = []

    def push(target_id):
        handler.calls.append(target_id)
        if len(handler.calls) == 1:  # A, stalled: its lease runs out and B claims the job
            PushJob.objects.filter(pk=job.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
            results.append(outbox.run(job.pk))
            results.append(outbox.claim(job.pk))  # A is still busy; B has finished

    outbox.register("test_unit", push)
    handler.sent.clear()
    assert outbox.run(job.pk) == "taken_over"
    assert results == ["done", None]
    job.refresh_from_db()
    assert job.state == "pending" and job.generation == 2 and job.applied_generation == 1
    assert handler.sent == [(job.pk, None)]
    assert outbox.run(job.pk) == "done"
    assert handler.calls == ["18", "18", "18"]
    job.refresh_from_db()
    assert job.sync_status == "applied"


def test_failing_worker_whose_lease_was_taken_over_does_not_schedule_a_retry(handler, settings):
    settings.PUSH_LEASE_SECONDS = 10
    job = outbox.enqueue("test_unit", 19)

    def push(target_id):
        handler.calls.append(target_id)
        if len(handler.calls) == 1:
            PushJob.objects.filter(pk=job.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
            outbox.claim(job.pk)  # B claims and is still pushing when A fails
            raise outbox.PushError("doveadm: timed out")

    outbox.register("test_unit", push)
    handler.sent.clear()
    assert outbox.run(job.pk) == "taken_over"
    job.refresh_from_db()
    # B's claim stands; it sees the new generation when it finishes and goes again.
    assert job.state == "running" and job.generation == 2 and job.attempts == 0
    assert handler.sent == []


@pytest.mark.django_db(transaction=True)
def test_lease_is_renewed_while_the_push_runs_and_nobody_takes_it_over(handler, settings):
    import threading

    settings.PUSH_LEASE_SECONDS = 0.9  # renewed every 0.3 s
    job = outbox.enqueue("test_unit", 20)
    PushJob.objects.filter(pk=job.pk).update(state="pending")
    entered, release = threading.Event(), threading.Event()
    outcome = []

    def push(target_id):
        entered.set()
        assert release.wait(20)

    outbox.register("test_unit", push)

    def worker():
        from django.db import connection

        try:
            outcome.append(outbox.run(job.pk))
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert entered.wait(20)
        first = PushJob.objects.get(pk=job.pk).claimed_until
        # Wait (with a deadline) until the lease has been renewed twice past its first
        # expiry: the push outlived its first lease and nobody could claim it meanwhile.
        deadline = time.monotonic() + 20
        while PushJob.objects.get(pk=job.pk).claimed_until < first + timedelta(seconds=0.5):
            assert outbox.claim(job.pk) is None
            assert time.monotonic() < deadline, "lease never renewed"
            release.wait(0.05)
        assert outbox.claim(job.pk) is None
    finally:
        release.set()
        thread.join(20)
    assert outcome == ["done"]

"""The push outbox: same-transaction enqueue, claim by conditional update, retry, re-queue."""
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
    settings.PUSH_STUCK_AFTER_SECONDS = 60
    lost = outbox.enqueue("test_unit", 11)
    abandoned = outbox.enqueue("test_unit", 12)
    fresh = outbox.enqueue("test_unit", 13)
    old = timezone.now() - timedelta(minutes=5)
    PushJob.objects.filter(pk=lost.pk).update(updated=old)
    PushJob.objects.filter(pk=abandoned.pk).update(state="running", claimed_at=old)
    handler.sent.clear()
    assert outbox.requeue_stuck() == 2
    assert sorted(pk for pk, _ in handler.sent) == sorted([lost.pk, abandoned.pk])
    assert fresh.pk not in [pk for pk, _ in handler.sent]
    # the abandoned job can be claimed again by a live worker
    assert outbox.run(abandoned.pk) == "done"


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

"""Push outbox services: enqueue in the caller's transaction, claim, run, retry, re-queue."""
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from .context import get_request_id
from .models import PushAttempt, PushJob

log = logging.getLogger(__name__)


class PushError(Exception):
    """Raised by push handlers; `permanent` failures are not retried."""

    def __init__(self, message, *, permanent=False):
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class PushHandler:
    push: Callable[[str], None]  # push the whole desired state of the unit with this id
    queue: Callable[[str], str] | None = None  # the backend host's queue for the unit


_handlers: dict[str, PushHandler] = {}


def register(kind: str, push, *, queue=None) -> None:
    _handlers[kind] = PushHandler(push=push, queue=queue)


def unregister(kind: str) -> None:
    """Forget a kind's handler (tests that register their own clean up with this)."""
    _handlers.pop(kind, None)


def handler(kind: str) -> PushHandler:
    return _handlers[kind]


def enqueue(kind: str, target_id, *, organisation_id=None) -> PushJob:
    """Record that the unit must be pushed; the task is sent after commit. Must run inside
    the transaction of the change so the change and the job land together."""
    target_id = str(target_id)
    spec = _handlers.get(kind)
    queue = spec.queue(target_id) if spec and spec.queue else "default"
    job, created = PushJob.objects.get_or_create(
        kind=kind, target_id=target_id,
        defaults={"organisation_id": organisation_id, "queue": queue},
    )
    if not created:
        # A job being pushed stays claimed: its worker sees the new generation when it
        # finishes and goes again, so two workers never push the same unit at once.
        PushJob.objects.filter(pk=job.pk).update(
            generation=F("generation") + 1, next_attempt_at=None, attempts=0, queue=queue,
            state=Case(When(state=PushJob.State.RUNNING, then=Value(PushJob.State.RUNNING)),
                       default=Value(PushJob.State.PENDING)),
        )
        job.refresh_from_db()
    transaction.on_commit(lambda: send(job))
    return job


def send(job: PushJob, countdown: float | None = None) -> None:
    from .tasks import run_push

    try:
        run_push.apply_async((job.pk,), queue=job.queue, countdown=countdown)
    except Exception as exc:  # broker down: the periodic re-queue picks it up later
        log.warning("could not queue push %s: %s", job.pk, exc)


def backoff_seconds(attempts: int) -> float:
    return min(settings.PUSH_RETRY_BASE_SECONDS * (2 ** max(attempts - 1, 0)),
               settings.PUSH_RETRY_MAX_SECONDS)


def claim(job_id: int) -> tuple[PushJob, str] | None:
    """Take the job with one conditional UPDATE; a duplicate delivery changes 0 rows."""
    now = timezone.now()
    token = uuid.uuid4().hex
    stale = now - timedelta(seconds=settings.PUSH_STUCK_AFTER_SECONDS)
    claimed = PushJob.objects.filter(
        Q(state=PushJob.State.PENDING, next_attempt_at__isnull=True)
        | Q(state=PushJob.State.PENDING, next_attempt_at__lte=now)
        | Q(state=PushJob.State.RUNNING, claimed_at__lt=stale),
        pk=job_id,
    ).update(state=PushJob.State.RUNNING, claimed_at=now, claim_token=token)
    if claimed != 1:
        return None
    return PushJob.objects.get(pk=job_id), token


def run(job_id: int) -> str:
    """Run one claimed push; returns what happened (for logs and tests)."""
    taken = claim(job_id)
    if taken is None:
        return "skipped"
    job, token = taken
    generation = job.generation
    attempt = PushAttempt.objects.create(job=job, generation=generation, request_id=get_request_id())
    mine = PushJob.objects.filter(pk=job.pk, claim_token=token)
    try:
        handler(job.kind).push(job.target_id)
    except Exception as exc:
        permanent = getattr(exc, "permanent", False)
        attempts = job.attempts + 1
        permanent = permanent or attempts >= settings.PUSH_MAX_ATTEMPTS
        PushAttempt.objects.filter(pk=attempt.pk).update(
            finished=timezone.now(), ok=False, permanent=permanent, error=str(exc)[:4000]
        )
        if permanent:
            mine.update(state=PushJob.State.FAILED, attempts=attempts, last_error=str(exc)[:4000],
                        claim_token="")
            log.error("push %s failed permanently: %s", job, exc)
            return "failed"
        delay = backoff_seconds(attempts)
        mine.update(state=PushJob.State.PENDING, attempts=attempts, last_error=str(exc)[:4000],
                    next_attempt_at=timezone.now() + timedelta(seconds=delay), claim_token="")
        job.refresh_from_db()
        send(job, countdown=delay)
        return "retry"
    now = timezone.now()
    PushAttempt.objects.filter(pk=attempt.pk).update(finished=now, ok=True)
    # A change committed during the push bumped the generation: go again.
    done = PushJob.objects.filter(pk=job.pk, claim_token=token, generation=generation).update(
        state=PushJob.State.DONE, applied_generation=generation, attempts=0, last_error="",
        last_applied_at=now, claim_token="", next_attempt_at=None,
    )
    if done:
        return "done"
    mine.update(state=PushJob.State.PENDING, applied_generation=generation, last_applied_at=now,
                claim_token="", next_attempt_at=None)
    job.refresh_from_db()
    send(job)
    return "again"


def requeue_stuck() -> int:
    """Send again what is due: pending jobs whose message may be lost (broker down at
    commit time, worker killed) and running jobs whose worker died."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.PUSH_STUCK_AFTER_SECONDS)
    quiet = now - timedelta(seconds=min(30, settings.PUSH_STUCK_AFTER_SECONDS))
    due = PushJob.objects.filter(
        Q(state=PushJob.State.PENDING, next_attempt_at__lte=now)
        | Q(state=PushJob.State.PENDING, next_attempt_at__isnull=True, updated__lt=quiet)
        | Q(state=PushJob.State.RUNNING, claimed_at__lt=stale)
    )
    count = 0
    for job in due:
        send(job)
        count += 1
    return count


def status_for(kind: str, target_ids) -> dict[str, PushJob]:
    """Push jobs by target id, in one query, for list pages and serializers."""
    return {
        j.target_id: j
        for j in PushJob.objects.filter(kind=kind, target_id__in=[str(t) for t in target_ids])
    }

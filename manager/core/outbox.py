"""Push outbox services: enqueue in the caller's transaction, claim, run, retry, re-queue."""
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
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


def enqueue(kind: str, target_id, *, organisation_id=None, queue: str | None = None) -> PushJob:
    """Record that the unit must be pushed; the task is sent after commit. Must run inside
    the transaction of the change so the change and the job land together. `queue`: the
    caller already knows it (else the handler says). A unit pushed before takes one
    statement (UPDATE … RETURNING), so every write pays one outbox statement."""
    target_id = str(target_id)
    if queue is None:
        spec = _handlers.get(kind)
        queue = spec.queue(target_id) if spec and spec.queue else "default"
    job = _bump(kind, target_id, queue)
    if job is None:
        job, created = PushJob.objects.get_or_create(
            kind=kind, target_id=target_id,
            defaults={"organisation_id": organisation_id, "queue": queue},
        )
        if not created:  # created by a concurrent transaction since the UPDATE
            job = _bump(kind, target_id, queue)
    transaction.on_commit(lambda: send(job))
    return job


def _bump(kind: str, target_id: str, queue: str) -> PushJob | None:
    """A new generation for an existing unit; the row as it is now, or None if the unit
    has no job yet. A job being pushed stays claimed: its worker sees the new generation
    when it finishes and goes again, so two workers never push the same unit at once."""
    table = connection.ops.quote_name(PushJob._meta.db_table)
    running, pending = PushJob.State.RUNNING, PushJob.State.PENDING
    rows = list(PushJob.objects.raw(
        f"UPDATE {table} SET generation = generation + 1, next_attempt_at = NULL, "  # noqa: S608
        f"attempts = 0, queue = %s, updated = %s, "
        f"state = CASE WHEN state = %s THEN %s ELSE %s END "
        f"WHERE kind = %s AND target_id = %s RETURNING *",
        [queue, timezone.now(), running, running, pending, kind, target_id]))
    return rows[0] if rows else None


def send(job: PushJob, countdown: float | None = None) -> None:
    from .tasks import run_push

    try:
        run_push.apply_async((job.pk,), queue=job.queue, countdown=countdown)
    except Exception as exc:  # broker down: the periodic re-queue picks it up later
        log.warning("could not queue push %s: %s", job.pk, exc)


def backoff_seconds(attempts: int) -> float:
    return min(settings.PUSH_RETRY_BASE_SECONDS * (2 ** max(attempts - 1, 0)),
               settings.PUSH_RETRY_MAX_SECONDS)


def lease_seconds() -> float:
    return settings.PUSH_LEASE_SECONDS


def _lease_expired(now):
    """Running jobs whose worker stopped renewing its lease: killed, frozen or cut off
    from the database. (A claim from before leases existed has no `claimed_until`.)"""
    return Q(state=PushJob.State.RUNNING, claimed_until__lt=now) | Q(
        state=PushJob.State.RUNNING, claimed_until__isnull=True,
        claimed_at__lt=now - timedelta(seconds=lease_seconds()))


def claim(job_id: int) -> tuple[PushJob, str] | None:
    """Take the job with one conditional UPDATE; a duplicate delivery changes 0 rows. A job
    whose lease ran out is taken over."""
    now = timezone.now()
    token = uuid.uuid4().hex
    claimed = PushJob.objects.filter(
        Q(state=PushJob.State.PENDING, next_attempt_at__isnull=True)
        | Q(state=PushJob.State.PENDING, next_attempt_at__lte=now)
        | _lease_expired(now),
        pk=job_id,
    ).update(state=PushJob.State.RUNNING, claimed_at=now, claim_token=token,
             claimed_until=now + timedelta(seconds=lease_seconds()))
    if claimed != 1:
        return None
    return PushJob.objects.get(pk=job_id), token


def renew_lease(job_id: int, token: str) -> bool:
    """Push the lease of a claim forward; False if the claim is no longer this one."""
    until = timezone.now() + timedelta(seconds=lease_seconds())
    return PushJob.objects.filter(pk=job_id, claim_token=token,
                                  state=PushJob.State.RUNNING).update(claimed_until=until) == 1


class Lease:
    """Renews a claim's lease from a thread while its push runs, so that the lease runs
    out soon after the worker dies (SIGKILL, OOM, lost host) and not while it works.
    The lease is what lets another worker take the job over within seconds, whatever the
    broker does with the dead worker's unacknowledged message."""

    def __init__(self, job_id: int, token: str):
        self.job_id, self.token = job_id, token
        self.lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self):
        # Inside a transaction (eager tasks in tests) the claim is not committed, so no
        # other worker can take it over, and a second connection would wait on our lock.
        if not connection.in_atomic_block:
            self._thread = threading.Thread(target=self._renew, daemon=True,
                                            name=f"push-lease-{self.job_id}")
            self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=lease_seconds())

    def _renew(self):
        try:
            while not self._stop.wait(lease_seconds() / 3):
                try:
                    if not renew_lease(self.job_id, self.token):
                        self.lost = True
                        log.warning("push %s: lease taken over by another worker", self.job_id)
                        return
                except Exception as exc:  # database unreachable: try again at the next tick
                    log.warning("push %s: could not renew the lease: %s", self.job_id, exc)
        finally:
            connection.close()  # this thread's own connection


def _taken_over(job: PushJob) -> str:
    """Our lease ran out while we pushed and another worker claimed the job. What we
    wrote may be older than its push (the adapter's lock keeps the two from writing at
    once, not from writing in the wrong order), so ask for one more push of the latest
    state after both, the same way a change made during a push does."""
    PushJob.objects.filter(pk=job.pk).update(
        generation=F("generation") + 1, next_attempt_at=None, updated=timezone.now(),
        state=Case(When(state=PushJob.State.RUNNING, then=Value(PushJob.State.RUNNING)),
                   default=Value(PushJob.State.PENDING)),
    )
    job.refresh_from_db()
    log.warning("push %s was taken over after its lease ran out; pushing again", job)
    if job.state == PushJob.State.PENDING:
        send(job)
    return "taken_over"


def run(job_id: int) -> str:
    """Run one claimed push; returns what happened (for logs and tests)."""
    taken = claim(job_id)
    if taken is None:
        return "skipped"
    job, token = taken
    generation = job.generation
    attempt = PushAttempt.objects.create(job=job, generation=generation, request_id=get_request_id())
    mine = PushJob.objects.filter(pk=job.pk, claim_token=token)
    error = None
    with Lease(job.pk, token):
        try:
            handler(job.kind).push(job.target_id)
        except Exception as exc:
            error = exc
    if error is not None:
        exc = error
        permanent = getattr(exc, "permanent", False)
        attempts = job.attempts + 1
        permanent = permanent or attempts >= settings.PUSH_MAX_ATTEMPTS
        PushAttempt.objects.filter(pk=attempt.pk).update(
            finished=timezone.now(), ok=False, permanent=permanent, error=str(exc)[:4000]
        )
        if permanent:
            if not mine.update(state=PushJob.State.FAILED, attempts=attempts,
                               last_error=str(exc)[:4000], claim_token=""):
                return _taken_over(job)
            log.error("push %s failed permanently: %s", job, exc)
            return "failed"
        delay = backoff_seconds(attempts)
        if not mine.update(state=PushJob.State.PENDING, attempts=attempts, last_error=str(exc)[:4000],
                           next_attempt_at=timezone.now() + timedelta(seconds=delay),
                           claim_token=""):
            return _taken_over(job)
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
    if not mine.update(state=PushJob.State.PENDING, applied_generation=generation,
                       last_applied_at=now, claim_token="", next_attempt_at=None):
        return _taken_over(job)
    job.refresh_from_db()
    send(job)
    return "again"


def requeue_stuck() -> int:
    """Send again what is due: pending jobs whose message may be lost (broker down at
    commit time, a worker killed holding it) and running jobs whose lease ran out. Runs
    every PUSH_REQUEUE_SECONDS: one indexed query when nothing is stuck."""
    now = timezone.now()
    # A job changed this recently most likely has its message on the way still.
    quiet = now - timedelta(seconds=lease_seconds())
    due = PushJob.objects.filter(
        Q(state=PushJob.State.PENDING, next_attempt_at__lte=now)
        | Q(state=PushJob.State.PENDING, next_attempt_at__isnull=True, updated__lt=quiet)
        | _lease_expired(now)
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

"""Thin Celery tasks around the push outbox."""
from celery import shared_task

from . import outbox


@shared_task(acks_late=True, ignore_result=True)
def run_push(job_id: int) -> str:
    return outbox.run(job_id)


@shared_task(ignore_result=True)
def requeue_stuck_pushes() -> int:
    return outbox.requeue_stuck()

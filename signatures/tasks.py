"""Thin Celery tasks of the signatures app."""
from celery import shared_task


@shared_task(ignore_result=True)
def run_signature_job(job_id: int) -> None:
    from .services import job_run

    job_run(job_id)

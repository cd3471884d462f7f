"""Thin Celery tasks of the mail service app."""
from celery import shared_task

from . import push


@shared_task(ignore_result=True)
def reconcile_mail_services() -> int:
    return len(push.reconcile())


@shared_task(ignore_result=True)
def watch_sieve_deliveries() -> int:
    return push.queue_delivery_checks()


@shared_task(ignore_result=True)
def check_sieve_deliveries(host: str) -> int:
    return len(push.check_deliveries(host))

"""Thin Celery tasks of the mail service app."""
from celery import shared_task

from . import push


@shared_task(ignore_result=True)
def reconcile_mail_services() -> int:
    return len(push.reconcile())

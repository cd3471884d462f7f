"""Thin Celery tasks of the DNS app."""
from celery import shared_task

from . import push


@shared_task(ignore_result=True)
def reconcile_dns_zones() -> int:
    return len(push.reconcile())

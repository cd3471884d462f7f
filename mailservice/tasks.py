"""Thin Celery tasks of the mail service app."""
from celery import shared_task

from . import push
from .services import delivery_log, quota


@shared_task(ignore_result=True)
def reconcile_mail_services() -> int:
    return len(push.reconcile())


@shared_task(ignore_result=True)
def watch_sieve_deliveries() -> int:
    return push.queue_delivery_checks()


@shared_task(ignore_result=True)
def check_sieve_deliveries(host: str) -> int:
    return len(push.check_deliveries(host))


@shared_task(ignore_result=True)
def watch_delivery_logs() -> int:
    return delivery_log.queue_delivery_log_reads()


@shared_task(ignore_result=True)
def read_delivery_log(host: str) -> int:
    return delivery_log.read_host_delivery_log(host)


@shared_task(ignore_result=True)
def purge_delivery_log() -> int:
    return delivery_log.delivery_log_purge()


@shared_task(ignore_result=True)
def watch_quota_usage() -> int:
    return quota.queue_quota_reports()


@shared_task(ignore_result=True)
def report_quota_usage(host: str) -> int:
    return quota.report_host_quota_usage(host)

"""Thin Celery tasks of the mail service app."""
import logging

from celery import shared_task
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import push
from .services import delivery_log, quota

log = logging.getLogger(__name__)


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
def _moment(now: str | None):
    return parse_datetime(now) if now else timezone.now()


@shared_task(ignore_result=True)
def purge_removed_mail(now: str | None = None) -> int:
    """Periodic: send each purge due at `now` (ISO 8601; default: the present) to the
    worker of its backend host, where the mail is."""
    from .services import removal

    due = removal.due_purges(_moment(now))
    for host, kind, pk in due:
        task = purge_mail_service if kind == "mail_service" else purge_address
        task.apply_async((pk, now), queue=f"mail-{host}")
    return len(due)


@shared_task(ignore_result=True)
def purge_address(address_id: int, now: str | None = None) -> bool:
    from .backends.base import BackendError
    from .services import removal

    try:
        return removal.address_purge(address_id=address_id, now=_moment(now))
    except (BackendError, push.outbox.PushError) as exc:  # left for the next periodic run
        log.warning("purge of address %s failed: %s", address_id, exc)
        return False


@shared_task(ignore_result=True)
def purge_mail_service(service_id: int, now: str | None = None) -> bool:
    from .backends.base import BackendError
    from .services import removal

    try:
        return removal.mail_service_purge(service_id=service_id, now=_moment(now))
    except (BackendError, push.outbox.PushError) as exc:
        log.warning("purge of mail service %s failed: %s", service_id, exc)
        return False


@shared_task(ignore_result=True)
def watch_quota_usage() -> int:
    return quota.queue_quota_reports()


@shared_task(ignore_result=True)
def report_quota_usage(host: str) -> int:
    return quota.report_host_quota_usage(host)


@shared_task(ignore_result=True)
def advance_dkim_rotations(now: str | None = None) -> int:
    from .services import dkim_advance

    return len(dkim_advance(now=_moment(now)))


@shared_task(ignore_result=True)
def run_address_import(job_id: int) -> str:
    from .services import bulk

    return bulk.import_run(job_id)

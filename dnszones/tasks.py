"""Thin Celery tasks of the DNS app."""
from celery import shared_task

from . import push
from .services.security import check_all
from .services.spf import reflatten_all


@shared_task(ignore_result=True)
def reconcile_dns_zones() -> int:
    return len(push.reconcile())


@shared_task(ignore_result=True)
def reflatten_spf_records() -> dict:
    """Flattened SPF records derived again from their sources: a provider whose addresses
    changed is followed within one period (DNS_SPF_REFLATTEN_SECONDS)."""
    return reflatten_all()


@shared_task(ignore_result=True)
def security_check_domains() -> dict:
    """Every domain's security check run again and cached (DNS_SECURITY_CHECK_SECONDS):
    the badge of the domain list follows the DNS without anyone opening the page."""
    return check_all()

"""Thin Celery tasks of the mail tools."""
from celery import shared_task


@shared_task(ignore_result=True)
def send_phishing_report(report_id: int) -> None:
    from .services import phishing_report_send

    phishing_report_send(report_id)


@shared_task(ignore_result=True)
def requeue_phishing_reports() -> None:
    from .services import phishing_reports_requeue

    phishing_reports_requeue()

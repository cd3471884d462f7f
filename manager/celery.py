"""The Celery app; a request id travels in task headers so worker changes are attributed."""
import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "manager.settings")

app = Celery("manager")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.before_task_publish.connect
def _send_request_id(headers=None, **kwargs):
    from manager.core.context import get_request_id

    if headers is not None and "mm_request_id" not in headers:
        headers["mm_request_id"] = get_request_id()


@signals.task_prerun.connect
def _receive_request_id(task=None, **kwargs):
    from manager.core.context import set_request_id

    request_id = getattr(task.request, "mm_request_id", None) if task else None
    set_request_id(request_id)

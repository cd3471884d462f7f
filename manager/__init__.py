"""Mail Manager: project package (settings, urls, Celery app) and the platform core apps."""
from .celery import app as celery_app

__all__ = ["celery_app"]

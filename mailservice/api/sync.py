"""Backend status fields for serializers: one query per page, not per row."""
from rest_framework import serializers

from manager.core.serializers import Serializer

from ..selectors import sync_jobs


def _domain(obj):
    service = getattr(obj, "mail_service", None)
    return service.domain if service is not None else obj.domain


class SyncStatusMixin(Serializer):
    """Adds `sync_status`, `sync_error` and `last_applied` from the service's push job.
    The view puts `sync_jobs` (domain → PushJob) in the serializer context."""

    sync_status = serializers.SerializerMethodField()
    sync_error = serializers.SerializerMethodField()
    last_applied = serializers.SerializerMethodField()

    def _job(self, obj):
        service = getattr(obj, "mail_service", obj)
        if getattr(service, "push_job", None) is not None:  # the write just made (services.push)
            return service.push_job
        domain = _domain(obj)
        jobs = self.context.get("sync_jobs")
        if jobs is None:
            jobs = self.context["sync_jobs"] = sync_jobs([domain])
        elif domain not in jobs:
            jobs.update(sync_jobs([domain]))
        return jobs.get(domain)

    def get_sync_status(self, obj) -> str:
        job = self._job(obj)
        return job.sync_status if job else "pending"

    def get_sync_error(self, obj) -> str:
        job = self._job(obj)
        return job.last_error if job else ""

    def get_last_applied(self, obj) -> str | None:
        job = self._job(obj)
        return job.last_applied_at.isoformat() if job and job.last_applied_at else None


class SyncContextMixin:
    """For list views: fetch every row's push job at once."""

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        rows = page if page is not None else list(queryset)
        self._sync_jobs = sync_jobs({_domain(r) for r in rows})
        return page

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if getattr(self, "_sync_jobs", None) is not None:
            context["sync_jobs"] = self._sync_jobs
        return context

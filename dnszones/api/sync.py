"""The push status every domain resource answers (`sync_status`, `sync_error`,
`last_applied`)."""
from rest_framework import serializers

from manager.core.serializers import Serializer

from .. import selectors


class SyncStatusMixin(Serializer):
    """`sync_status` (applied / pending / failed), `sync_error` and `last_applied` of the
    zone's push; the view puts the page's push jobs in the context (one query a page)."""

    sync_status = serializers.SerializerMethodField()
    sync_error = serializers.SerializerMethodField()
    last_applied = serializers.SerializerMethodField()

    def _job(self, obj):
        jobs = self.context.setdefault("sync_jobs", {})
        if obj.name not in jobs:
            jobs.update(selectors.sync_jobs([obj.name]))
            jobs.setdefault(obj.name, None)
        return jobs[obj.name]

    def get_sync_status(self, obj) -> str:
        return str(selectors.sync_status(obj, self._job(obj)))

    def get_sync_error(self, obj) -> str:
        job = self._job(obj)
        return job.last_error if job and job.sync_status == "failed" else ""

    def get_last_applied(self, obj) -> str | None:
        job = self._job(obj)
        return job.last_applied_at.isoformat() if job and job.last_applied_at else None

"""Writes of the signatures app (HackSoft services): views, serializers and tasks call
these and nothing else writes. `templates` (templates, versions, images), `signatures`
(a user's fields, generic signatures, stamping switches, notifications), `jobs` (bulk
activation, creation and regeneration in batches)."""
from .jobs import job_claim, job_run, job_start, job_step
from .signatures import (
    editable_keys,
    notification_language,
    notify_users,
    rerender,
    signature_update,
    stamping_update,
)
from .templates import (
    clean_design,
    image_upload,
    template_create,
    template_delete,
    template_duplicate,
    template_publish,
    template_update,
)

__all__ = [
    "clean_design", "editable_keys", "image_upload", "job_claim", "job_run", "job_start",
    "job_step", "notification_language", "notify_users", "rerender", "signature_update",
    "stamping_update", "template_create", "template_delete", "template_duplicate",
    "template_publish", "template_update",
]

"""The push outbox (backend work to do, written in the same transaction as the change) and
the long jobs run for a person (bulk imports, bulk signature work)."""
from django.db import models
from django.utils.translation import gettext_lazy as _

from .querysets import RestrictedQuerySet


class SyncStatus(models.TextChoices):
    APPLIED = "applied", _("Applied")
    PENDING = "pending", _("Pending")
    FAILED = "failed", _("Failed")


class PushJob(models.Model):
    """One row per pushable unit (a mail service, a zone). A change bumps `generation`;
    a push sends the unit's whole desired state and records the generation it applied,
    so repeated or late deliveries of the job do nothing harmful."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(max_length=40)  # a registered push handler, e.g. "mail_service"
    target_id = models.CharField(max_length=255)  # a domain name may have 253 characters
    organisation = models.ForeignKey(
        "accounts.Organisation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    queue = models.CharField(max_length=100, default="default")  # the backend host's own queue
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    generation = models.PositiveBigIntegerField(default=1)
    applied_generation = models.PositiveBigIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)  # consecutive failures since last success
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The claim's lease, renewed while the push runs (outbox.Lease); once it has run out
    # another worker may take the job over.
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    last_applied_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    organisation_field = "organisation"

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["kind", "target_id"], name="unique_push_unit")]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self):
        return f"{self.kind}:{self.target_id} g{self.generation} {self.state}"

    @property
    def sync_status(self) -> str:
        if self.state == self.State.DONE and self.applied_generation >= self.generation:
            return SyncStatus.APPLIED
        if self.state == self.State.FAILED:
            return SyncStatus.FAILED
        return SyncStatus.PENDING


class PushAttempt(models.Model):
    job = models.ForeignKey(PushJob, on_delete=models.CASCADE, related_name="attempt_log")
    generation = models.PositiveBigIntegerField()
    started = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(default=False)
    permanent = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-started", "-id"]

    def __str__(self):
        return f"attempt {self.pk} of {self.job_id}: {'ok' if self.ok else self.error[:40]}"


class Job(models.Model):
    """A long piece of work run by a worker for a person (a bulk import of addresses, a
    bulk signature job): its state, its progress for the page's bar and the API, and what
    it found. The worker claims it by a conditional UPDATE (queued → running) on its own
    kinds, so a duplicate delivery, or a task given another kind's id, does nothing."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    # e.g. "address_import", "signatures.activate": the app that runs it reads only its own.
    kind = models.CharField(max_length=40)
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE,
                                     related_name="+")
    actor = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)  # 0–100
    # Jobs that work through a list in batches (addresses): its length and how far they are.
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    # The request that started the job, to find its log lines and audit entries.
    request_id = models.CharField(max_length=64, blank=True)
    # What the job works on (e.g. {"mail_service": 3, "dry_run": false}, or a signature
    # job's template and address ids) and its input (the uploaded file's text), dropped
    # once the job is over.
    params = models.JSONField(default=dict)
    payload = models.TextField(blank=True)
    # Refusals as [{"line", "column", "message"}]; `result`: what it did or would do.
    errors = models.JSONField(default=list)
    result = models.JSONField(default=dict)
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    organisation_field = "organisation"
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["organisation", "-created"])]

    def __str__(self):
        return f"{self.kind} {self.pk} {self.state}"

    @property
    def is_over(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)

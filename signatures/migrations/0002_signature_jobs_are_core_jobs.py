"""The bulk signature jobs become core Jobs (one job table for every app): each row is
copied into core.Job under a `signatures.<operation>` kind, its mail service, template,
address ids and notify switch in `params`, its signature count in `result`; then the
SignatureJob table goes. Ids change (core.Job has its own sequence): a job queued at the
time of the upgrade is not found by its task, so drain the workers first. Backwards, the
signature jobs whose mail service still exists are copied back."""
from django.db import migrations

OPERATIONS = ("activate", "create_signatures", "regenerate")
KINDS = [f"signatures.{operation}" for operation in OPERATIONS]


def to_core_jobs(apps, schema_editor):
    db = schema_editor.connection.alias
    SignatureJob = apps.get_model("signatures", "SignatureJob")
    Job = apps.get_model("core", "Job")
    for old in SignatureJob.objects.using(db).select_related("mail_service").order_by("pk"):
        if old.state == "done":
            progress = 100
        else:
            progress = old.processed * 100 // old.total if old.total else 0
        job = Job.objects.using(db).create(
            kind=f"signatures.{old.kind}", organisation_id=old.mail_service.organisation_id,
            actor_id=old.created_by_id, state=old.state, progress=progress, total=old.total,
            processed=old.processed, request_id=old.request_id,
            params={"mail_service": old.mail_service_id, "template": old.template_id,
                    "address_ids": old.address_ids, "notify": old.notify},
            errors=old.errors, result={"signatures": old.signatures},
            started=old.started, finished=old.finished)
        # `created` is set on insert (auto_now_add): the job keeps its own.
        Job.objects.using(db).filter(pk=job.pk).update(created=old.created)


def to_signature_jobs(apps, schema_editor):
    db = schema_editor.connection.alias
    SignatureJob = apps.get_model("signatures", "SignatureJob")
    Job = apps.get_model("core", "Job")
    MailService = apps.get_model("mailservice", "MailService")
    SignatureTemplate = apps.get_model("signatures", "SignatureTemplate")
    jobs = Job.objects.using(db).filter(kind__in=KINDS).order_by("pk")
    params = [job.params for job in jobs]
    services = set(MailService.objects.using(db).filter(
        pk__in={p.get("mail_service") for p in params}).values_list("pk", flat=True))
    templates = set(SignatureTemplate.objects.using(db).filter(
        pk__in={p.get("template") for p in params}).values_list("pk", flat=True))
    for job in jobs:
        # The old table cannot hold a job without its mail service (it cascaded).
        if job.params.get("mail_service") not in services:
            continue
        template = job.params.get("template")
        old = SignatureJob.objects.using(db).create(
            kind=job.kind.partition(".")[2], mail_service_id=job.params["mail_service"],
            template_id=template if template in templates else None,
            created_by_id=job.actor_id, request_id=job.request_id,
            address_ids=job.params.get("address_ids", []),
            notify=bool(job.params.get("notify")), state=job.state, total=job.total,
            processed=job.processed, signatures=job.result.get("signatures", 0),
            errors=job.errors, started=job.started, finished=job.finished)
        SignatureJob.objects.using(db).filter(pk=old.pk).update(created=job.created)
    jobs.delete()


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0005_job_counts_and_request_id"),
        ("mailservice", "0010_mail_service_domain"),
        ("signatures", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(to_core_jobs, to_signature_jobs),
        migrations.DeleteModel(name="SignatureJob"),
    ]

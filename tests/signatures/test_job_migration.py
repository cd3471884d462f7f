"""The migration that turns the bulk signature jobs into core jobs keeps every job, what
it works on and how far it got, under its organisation; backwards, it copies them back."""
import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from manager.core.models import Job
from tests.factories import make_mail_service, make_organisation, make_user
from tests.signatures.conftest import make_template

BEFORE = [("signatures", "0001_initial")]
AFTER = [("signatures", "0002_signature_jobs_are_core_jobs")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_signature_jobs_become_core_jobs_and_back():
    owner = make_user("old@example.org")
    organisation = make_organisation(owner, "Old")
    service = make_mail_service(owner, organisation, "legacy.example", plan="premium")
    template = make_template(owner, service)
    old_apps = migrate(BEFORE)
    SignatureJob = old_apps.get_model("signatures", "SignatureJob")
    created = timezone.now() - datetime.timedelta(days=3)
    done = SignatureJob.objects.create(
        kind="activate", mail_service_id=service.pk, template_id=template.pk,
        created_by_id=owner.pk, request_id="r1", address_ids=[4, 5], state="done", total=2,
        processed=2, signatures=3, errors=[{"address": 5, "message": "gone"}],
        started=created, finished=created)
    SignatureJob.objects.filter(pk=done.pk).update(created=created)
    SignatureJob.objects.create(kind="create_signatures", mail_service_id=service.pk,
                                template_id=template.pk, address_ids=[1, 2, 3, 4], notify=True,
                                state="running", total=4, processed=1)

    migrate(AFTER)
    first, second = Job.objects.order_by("pk")
    assert (first.kind, first.organisation_id, first.actor_id, first.state) == (
        "signatures.activate", organisation.pk, owner.pk, "done")
    assert first.params == {"mail_service": service.pk, "template": template.pk,
                            "address_ids": [4, 5], "notify": False}
    assert (first.progress, first.total, first.processed, first.result) == (
        100, 2, 2, {"signatures": 3})
    assert first.errors == [{"address": 5, "message": "gone"}] and first.request_id == "r1"
    assert first.created == created and first.finished == created
    assert (second.kind, second.state, second.progress, second.params["notify"]) == (
        "signatures.create_signatures", "running", 25, True)

    old_apps = migrate(BEFORE)
    assert not Job.objects.exists()
    SignatureJob = old_apps.get_model("signatures", "SignatureJob")
    back = SignatureJob.objects.order_by("pk").first()
    assert (back.kind, back.mail_service_id, back.template_id, back.created_by_id) == (
        "activate", service.pk, template.pk, owner.pk)
    assert (back.signatures, back.address_ids, back.created) == (3, [4, 5], created)
    migrate(AFTER)

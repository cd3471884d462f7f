"""The bulk jobs: activation, creation of signatures with their e-mails, regeneration of
outdated ones; constant queries per batch; the generic signature of shared addresses;
the desired stamping state."""
import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from mailservice.models import Address
from manager.audit.models import AuditEntry
from manager.core.models import Job
from signatures import limits, selectors, services
from signatures.models import AddressSignatureSettings, Signature
from tests.factories import add_member, grant, make_address, make_user
from tests.signatures.conftest import BASIC_FIELDS

pytestmark = pytest.mark.django_db


def run(job):
    done = services.job_run(job.pk)
    assert done.state == "done", done.errors
    return done


def many_addresses(service, count, *, users_each=1):
    """`count` addresses with their users, written in bulk (the services would push and
    audit each one: too slow for a batch test, and not what is tested here)."""
    from mailservice.models import AddressAccess
    from manager.accounts.models import User

    start = Address.objects.count()
    Address.objects.bulk_create(Address(mail_service=service, local_part=f"u{start + i}")
                                for i in range(count))
    addresses = list(Address.objects.filter(mail_service=service, local_part__startswith="u")
                     .order_by("pk"))[-count:]
    users = User.objects.bulk_create(User(email=f"p{a.pk}-{k}@people.example", full_name=f"P {a.pk}")
                                     for a in addresses for k in range(users_each))
    AddressAccess.objects.bulk_create(AddressAccess(address=a, user=u, permissions=["read"])
                                      for a, u in zip([a for a in addresses for _k in range(users_each)],
                                                      users, strict=True))
    return addresses


def test_activation_gives_every_selected_address_its_signature_and_the_template(
        owner, premium, template, alice):
    bob = make_user("bob@people.example", full_name="Bob Builder", job_title="Builder")
    add_member(premium.organisation, bob)
    grant(owner, alice, bob, ["read", "manage_signature"])
    job = services.job_start(actor=owner, template=template, kind="activate", addresses=[alice])
    assert job.state == "queued" and job.progress == 0
    job = run(job)
    assert (job.progress, job.processed, job.result["signatures"]) == (100, 1, 1)
    signature = Signature.objects.get(address=alice)
    assert signature.user == bob and signature.version == template.current_version
    assert "Bob Builder" in signature.html and signature.text.startswith("-- \nBob Builder\n")
    assert AddressSignatureSettings.objects.get(address=alice).template == template
    entry = AuditEntry.objects.filter(verb="signature_job.activate").latest("pk")
    assert entry.changes["previous_templates"] == [{str(alice.pk): None}, None]
    assert entry.changes["addresses"] == [None, [alice.pk]]


def test_a_shared_address_gets_a_generic_signature_configured_by_an_administrator(
        owner, member, premium, template):
    contact = make_address(owner, premium, "contact", display_name="Acme Support")
    run(services.job_start(actor=owner, template=template, kind="activate", addresses=[contact]))
    generic = Signature.objects.get(address=contact)
    assert generic.user is None and "Acme Support" in generic.html
    generic = services.signature_update(actor=owner, signature=generic, values={
        "department": "Customer care"})
    assert "Customer care" in generic.html
    grant(owner, contact, member, ["read", "manage_signature"])
    with pytest.raises(Exception) as caught:
        services.signature_update(actor=member, signature=generic, values={"department": "x"})
    assert getattr(caught.value, "status", None) == 403
    # One user now, without a signature of their own yet: the generic one is still stamped.
    assert "Customer care" in selectors.stamps_for_service(premium)["contact@domain.xyz"].html


def test_a_second_delivery_of_the_task_does_nothing(owner, template, alice):
    job = services.job_start(actor=owner, template=template, kind="activate", addresses=[alice])
    assert services.job_run(job.pk).state == "done"
    assert services.job_run(job.pk) is None
    assert Signature.objects.filter(address=alice).count() == 1


def test_a_batch_costs_the_same_queries_whatever_its_size(owner, premium, template, settings,
                                                         monkeypatch):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Sizes SQLite takes in one statement (it splits longer inserts; PostgreSQL does not).
    monkeypatch.setattr(limits, "BULK_BATCH_SIZE", 60)
    premium.capacity = 5000
    premium.save()
    counts = []
    for size in (10, 60):
        addresses = many_addresses(premium, size)
        job = services.job_start(actor=owner, template=template, kind="create_signatures",
                                 addresses=addresses)
        services.job_claim(job.pk)
        with CaptureQueriesContext(connection) as queries:
            assert services.job_step(job.pk) is False
        counts.append(len(queries))
    assert counts[0] == counts[1] and counts[1] <= 14, counts


def test_create_signatures_emails_each_user_in_their_language(owner, premium, template, alice,
                                                             mailoutbox,
                                                             django_capture_on_commit_callbacks):
    anne = make_user("anne@people.example", full_name="Anne Ampère", language="fr")
    bob = make_user("bob@people.example", full_name="Bob Builder")
    add_member(premium.organisation, anne)
    add_member(premium.organisation, bob)
    grant(owner, alice, anne, ["read", "manage_signature"])
    other = make_address(owner, premium, "sales")
    grant(owner, other, anne, ["read", "manage_signature"])
    grant(owner, other, bob, ["read"])
    job = services.job_start(actor=owner, template=template, kind="create_signatures")
    with django_capture_on_commit_callbacks() as sent_after_commit:
        run(job)
    assert mailoutbox == [] and len(sent_after_commit) == 1  # nothing is sent before the commit
    sent_after_commit[0]()
    by_recipient = {m.to[0]: m for m in mailoutbox}
    assert set(by_recipient) == {"anne@people.example", "bob@people.example"}
    french = by_recipient["anne@people.example"]
    assert "signature" in french.subject.lower() and "attend" in french.subject
    assert "alice@domain.xyz" in french.body and "sales@domain.xyz" in french.body
    assert "/signatures/addresses/" in french.body
    assert "waiting for you" in by_recipient["bob@people.example"].subject
    # sales@ has two users: each has their own signature, and the address a generic one.
    assert Signature.objects.filter(address=other).count() == 3
    assert Signature.objects.filter(address=other, user__isnull=True).exists()


def test_regenerate_moves_outdated_signatures_to_the_current_version_keeping_values(
        owner, member, premium, template, alice):
    grant(owner, alice, member, ["read", "manage_signature"])
    run(services.job_start(actor=owner, template=template, kind="activate", addresses=[alice]))
    signature = Signature.objects.get(address=alice)
    services.signature_update(actor=member, signature=signature, values={"department": "Sales"})
    services.template_update(actor=owner, template=template, fields=[
        *BASIC_FIELDS, {"key": "legal_notice", "source": "fixed", "value": "Acme SA, Genève"}])
    services.template_publish(actor=owner, template=template)
    signature.refresh_from_db()
    assert signature.is_outdated and "Genève" not in signature.html
    job = run(services.job_start(actor=owner, template=template, kind="regenerate"))
    assert job.total == 1
    signature.refresh_from_db()
    assert not signature.is_outdated and signature.version.number == 2
    assert "Genève" in signature.html and "Sales" in signature.html


def test_stamps_follow_the_active_template_and_the_switches(owner, member, premium, template,
                                                            alice):
    grant(owner, alice, member, ["read", "manage_signature"])
    run(services.job_start(actor=owner, template=template, kind="activate", addresses=[alice]))
    stamp = selectors.stamps_for_service(premium)["alice@domain.xyz"]
    signature = Signature.objects.get(address=alice)
    assert (stamp.html, stamp.text, stamp.enabled, stamp.on_replies) == (
        signature.html, signature.text, True, False)
    services.stamping_update(actor=member, address=alice, stamping=False, on_replies=True)
    stamp = selectors.stamps_for_service(premium)["alice@domain.xyz"]
    assert (stamp.enabled, stamp.on_replies) == (False, True)
    entry = AuditEntry.objects.filter(object_type="signatures.addresssignaturesettings").latest("pk")
    assert entry.changes == {"stamping": [True, False], "on_replies": [False, True]}


def test_the_desired_stamping_state_costs_constant_queries(owner, premium, template,
                                                           django_assert_max_num_queries):
    premium.capacity = 500
    premium.save()
    addresses = many_addresses(premium, 60)
    run(services.job_start(actor=owner, template=template, kind="activate", addresses=addresses))
    with django_assert_max_num_queries(3):
        stamps = selectors.stamps_for_service(premium)
    assert len(stamps) == 60


def test_the_quality_report_tells_each_address_state(owner, member, premium, template, alice):
    grant(owner, alice, member, ["read", "manage_signature"])
    bare = make_address(owner, premium, "bare")
    run(services.job_start(actor=owner, template=template, kind="activate", addresses=[alice]))
    rows = {r.address.pk: r for r in selectors.quality_report(template)}
    assert rows[alice.pk].state == "missing_profile_data"
    assert rows[bare.pk].state == "no_signature"
    member.full_name, member.phone = "Mia Member", "+41 22 555 66 77"
    member.save()
    services.signature_update(actor=member, signature=Signature.objects.get(address=alice),
                              values={})
    assert {r.address.pk: r.state for r in selectors.quality_report(template)}[alice.pk] == "complete"


def test_a_failing_batch_marks_the_job_failed(owner, template, alice, monkeypatch):
    job = services.job_start(actor=owner, template=template, kind="activate", addresses=[alice])

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("signatures.services.jobs.render_into", broken)
    job = services.job_run(job.pk)
    assert job.state == "failed" and job.errors[0]["message"] == "disk full"
    assert not Job.objects.filter(state="running").exists()


def test_a_job_is_followed_by_its_organisations_managers_only(api, owner, admin, member,
                                                              outsider, template, alice):
    job = services.job_start(actor=owner, template=template, kind="activate", addresses=[alice])
    assert job.organisation_id == template.mail_service.organisation_id
    assert selectors.job_for(admin, job.pk) == job
    for stranger in (member, outsider):  # a member sees addresses through grants only
        with pytest.raises(Http404):
            selectors.job_for(stranger, job.pk)
    assert api(admin).get(f"/api/v1/signature-jobs/{job.pk}/").status_code == 200
    assert api(member).get(f"/api/v1/signature-jobs/{job.pk}/").status_code == 404
    assert api(outsider).get(f"/api/v1/signature-jobs/{job.pk}/").status_code == 404


def test_the_job_resources_and_tasks_keep_to_their_own_kind(api, owner, premium, template, alice):
    from mailservice.services import bulk

    signature_job = services.job_start(actor=owner, template=template, kind="activate",
                                       addresses=[alice])
    import_job = bulk.import_start(actor=owner, service=premium, data=b"local_part\nnew\n",
                                   dry_run=True)
    client = api(owner)
    assert client.get(f"/api/v1/signature-jobs/{import_job.pk}/").status_code == 404
    assert client.get(f"/api/v1/jobs/{signature_job.pk}/").status_code == 404
    # Either app's task given the other's id (one table, one sequence) claims nothing.
    assert services.job_run(import_job.pk) is None
    assert bulk.import_run(signature_job.pk) == "skipped"
    assert {j.pk: j.state for j in Job.objects.all()} == {signature_job.pk: "queued",
                                                          import_job.pk: "queued"}
    answer = client.get(f"/api/v1/signature-jobs/{signature_job.pk}/").json()
    assert answer["kind"] == "activate" and answer["mail_service"] == premium.pk
    assert (answer["template"], answer["total"], answer["signatures"]) == (template.pk, 1, 0)


def test_a_job_whose_template_is_deleted_while_it_runs_ends_failed(owner, template, alice):
    job = services.job_start(actor=owner, template=template, kind="activate", addresses=[alice])
    assert services.job_claim(job.pk)
    services.template_delete(actor=owner, template=template)
    assert services.job_step(job.pk) is False
    job.refresh_from_db()
    assert job.state == "failed" and "deleted" in job.errors[0]["message"]
    assert job.finished is not None

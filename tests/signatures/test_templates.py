"""Writes on signature templates: drafts and published versions, duplicate, hide,
delete, the checks on save, images, the role gate and the audit entries."""
import pytest

from manager.audit.models import AuditEntry
from manager.core.errors import ServiceError
from signatures import services
from signatures.models import Signature, SignatureImage, SignatureTemplateVersion
from tests.factories import grant, make_address
from tests.signatures.conftest import BASIC_FIELDS, make_template, png

pytestmark = pytest.mark.django_db


def test_a_draft_has_no_version_until_published(owner, premium):
    template = make_template(owner, premium, publish=False)
    assert template.status == "draft" and template.versions.count() == 0
    services.template_publish(actor=owner, template=template)
    template.refresh_from_db()
    assert template.status == "published" and template.current_version.number == 1


def test_editing_a_published_template_changes_the_draft_only(owner, template):
    services.template_update(actor=owner, template=template, fields=[
        *BASIC_FIELDS, {"key": "mobile", "source": "user"}])
    template.refresh_from_db()
    assert template.status == "changed"
    assert "mobile" not in [s["key"] for s in template.current_version.design["fields"]]
    services.template_publish(actor=owner, template=template)
    template.refresh_from_db()
    assert template.current_version.number == 2 and template.status == "published"
    assert [v.number for v in template.versions.order_by("number")] == [1, 2]


def test_a_published_version_is_immutable(template):
    version = template.current_version
    version.design = {}
    with pytest.raises(ValueError):
        version.save()
    assert SignatureTemplateVersion.objects.get(pk=version.pk).design != {}


def test_publish_is_audited_with_before_and_after(owner, template):
    entry = AuditEntry.objects.filter(verb="signature_template.publish").latest("pk")
    assert entry.changes["version"] == [None, 1] and entry.actor == owner


def test_duplicate_makes_a_draft_copy(owner, template):
    copy = services.template_duplicate(actor=owner, template=template)
    assert copy.name == "Corporate (copy)" and copy.status == "draft"
    assert copy.design == template.design


def test_hidden_templates_cannot_be_activated_but_their_signatures_stay(owner, premium, template,
                                                                        alice):
    services.job_start(actor=owner, template=template, kind="activate", addresses=[alice])
    from manager.core.models import Job

    job = Job.objects.latest("pk")
    services.job_run(job.pk)
    services.template_update(actor=owner, template=template, hidden=True)
    with pytest.raises(ServiceError) as caught:
        services.job_start(actor=owner, template=template, kind="activate", addresses=[alice])
    assert caught.value.code == "template_hidden"
    assert Signature.objects.filter(template=template).count() == 1


def test_delete_takes_the_signatures_with_it(owner, template, alice):
    from manager.core.models import Job

    services.job_start(actor=owner, template=template, kind="activate", addresses=[alice])
    services.job_run(Job.objects.latest("pk").pk)
    assert services.template_delete(actor=owner, template=template) == 1
    assert not Signature.objects.exists()
    entry = AuditEntry.objects.filter(action="delete").latest("pk")
    assert entry.changes["signatures"] == [1, None]


@pytest.mark.parametrize("fields,where", [
    ([{"key": "photo", "source": "user"}], "fields.0.key"),  # not in the simple layout
    ([{"key": "department", "source": "auto"}], "fields.0.source"),  # no profile value
    ([{"key": "website", "source": "fixed", "value": "javascript:alert(1)"}], "fields.0.value"),
    ([{"key": "website", "source": "fixed", "value": "http://acme.example"}], "fields.0.value"),
    ([{"key": "phone", "source": "fixed", "value": "12"}], "fields.0.value"),
    ([{"key": "email", "source": "fixed", "value": "nobody"}], "fields.0.value"),
    ([{"key": "website", "source": "fixed"}], "fields.0.value"),
    ([{"key": "first_name"}, {"key": "first_name"}], "fields.1.key"),
    ([], "fields"),
])
def test_invalid_designs_are_refused_naming_the_field(owner, premium, fields, where):
    with pytest.raises(ServiceError) as caught:
        make_template(owner, premium, fields=fields)
    assert where in caught.value.fields, caught.value.fields


def test_unknown_placeholders_and_too_wide_html_are_refused_on_save(owner, premium):
    with pytest.raises(ServiceError) as caught:
        make_template(owner, premium, extra_html="Hi {{ nickname }}")
    assert "extra_html" in caught.value.fields
    with pytest.raises(ServiceError) as caught:
        make_template(owner, premium, extra_html='<table width="700"><tr><td>x</td></tr></table>')
    assert caught.value.code == "signature_too_large"


def test_a_logo_must_be_an_uploaded_image_of_the_organisation(owner, premium, outsider,
                                                              foreign_address):
    with pytest.raises(ServiceError) as caught:
        make_template(owner, premium, layout="logo", fields=[
            {"key": "logo", "source": "fixed", "value": "00000000-0000-0000-0000-000000000000"}])
    assert "fields.0.value" in caught.value.fields
    theirs = services.image_upload(actor=outsider, service=foreign_address.mail_service,
                                   data=png(), alt="Theirs")
    with pytest.raises(ServiceError):
        make_template(owner, premium, layout="logo", fields=[
            {"key": "logo", "source": "fixed", "value": str(theirs.ref)}])
    ours = services.image_upload(actor=owner, service=premium, data=png(), alt="Acme")
    template = make_template(owner, premium, layout="logo", fields=[
        {"key": "first_name", "source": "auto"}, {"key": "logo", "source": "fixed", "value": str(ours.ref)}])
    assert template.design["fields"][1]["value"] == str(ours.ref)


def test_an_image_needs_its_alternative_text_and_svg_is_refused(owner, premium):
    with pytest.raises(ServiceError) as caught:
        services.image_upload(actor=owner, service=premium, data=png(), alt="  ")
    assert caught.value.code == "alt_required"
    with pytest.raises(ServiceError) as caught:
        services.image_upload(actor=owner, service=premium, data=b"<svg onload=alert(1)/>", alt="x")
    assert caught.value.code == "image_refused" and "SVG" in caught.value.message
    assert not SignatureImage.objects.exists()


def test_members_may_not_write_templates(member, premium, template):
    for call in (lambda: make_template(member, premium),
                 lambda: services.template_update(actor=member, template=template, name="x"),
                 lambda: services.template_publish(actor=member, template=template),
                 lambda: services.template_delete(actor=member, template=template),
                 lambda: services.job_start(actor=member, template=template, kind="activate",
                                            addresses=[])):
        with pytest.raises(ServiceError) as caught:
            call()
        assert caught.value.status == 403


def test_a_user_completes_only_their_fields(owner, member, premium, template):
    from manager.core.models import Job

    address = make_address(owner, premium, "member")
    grant(owner, address, member, ["read", "manage_signature"])
    services.job_start(actor=owner, template=template, kind="create_signatures", addresses=[address])
    services.job_run(Job.objects.latest("pk").pk)
    signature = Signature.objects.get(user=member)
    assert signature.state == "missing_profile_data"  # no name or phone in the profile
    assert {(w["code"], w["key"]) for w in signature.warnings} >= {
        ("missing_profile", "first_name"), ("waiting_for_user", "department")}
    with pytest.raises(ServiceError) as caught:
        services.signature_update(actor=member, signature=signature, values={
            "website": "https://mine.example/"})
    assert "values.website" in caught.value.fields
    signature = services.signature_update(actor=member, signature=signature,
                                          values={"department": "Sales"})
    assert signature.state == "missing_profile_data"
    assert "Sales" in signature.html and signature.text.startswith("-- \n")
    member.full_name, member.phone = "Mia Member", "+41 22 555 66 77"
    member.save()
    signature = services.signature_update(actor=member, signature=Signature.objects.get(
        pk=signature.pk), values={})
    assert signature.state == "complete"
    entry = AuditEntry.objects.filter(object_type="signatures.signature").latest("pk")
    assert entry.changes["state"] == ["missing_profile_data", "complete"]


def test_without_the_permission_the_user_cannot_touch_their_signature(owner, member, premium,
                                                                      template):
    from manager.core.models import Job

    address = make_address(owner, premium, "member")
    grant(owner, address, member, ["read"])
    services.job_start(actor=owner, template=template, kind="create_signatures", addresses=[address])
    services.job_run(Job.objects.latest("pk").pk)
    signature = Signature.objects.get(user=member)
    with pytest.raises(ServiceError) as caught:
        services.signature_update(actor=member, signature=signature, values={"department": "x"})
    assert caught.value.status == 403 and "Manage signature" in caught.value.message

"""The signature pages: templates (create as draft, publish, preview as a real user),
the bulk activation from the address list with its progress, a user's own signature from
"My mail", the report and its CSV, downloads and public images; the gate everywhere."""
import pytest
from django.urls import reverse

from manager.core.models import Job
from signatures import services
from signatures.models import Signature, SignatureTemplate
from tests.factories import grant, make_address
from tests.signatures.conftest import make_template, png

pytestmark = pytest.mark.django_db

HOSTILE = "<img src=x onerror=alert(1)>"


def form_data(**extra):
    data = {"name": "Corporate", "layout": "simple", "accent_color": "#1a4f8b",
            "image_width": "120", "extra_html": "", "operation": "draft",
            "first_name-include": "1", "first_name-source": "auto",
            "department-include": "1", "department-source": "user",
            "website-include": "1", "website-source": "fixed",
            "website-value": "https://acme.example/"}
    data.update(extra)
    return data


def test_an_administrator_creates_a_draft_then_publishes_it(client, owner, premium):
    client.force_login(owner)
    page = client.get(reverse("signatures:service", args=[premium.pk]))
    assert page.status_code == 200 and "Add a signature template" in page.content.decode()
    response = client.post(reverse("signatures:template_new", args=[premium.pk]), form_data())
    assert response.status_code == 302
    template = SignatureTemplate.objects.get()
    assert template.status == "draft" and [f["key"] for f in template.design["fields"]] == [
        "first_name", "department", "website"]
    response = client.post(reverse("signatures:template_edit", args=[template.pk]),
                           form_data(operation="publish"))
    template.refresh_from_db()
    assert response.status_code == 302 and template.status == "published"


def test_a_refused_design_is_shown_on_the_page(client, owner, premium):
    client.force_login(owner)
    response = client.post(reverse("signatures:template_new", args=[premium.pk]),
                           form_data(**{"website-value": "javascript:alert(1)"}))
    assert response.status_code == 400
    assert "Enter an https:// address." in response.content.decode()
    assert not SignatureTemplate.objects.exists()


def test_the_preview_as_a_real_user_shows_hostile_values_as_text(client, owner, member, premium,
                                                                 alice):
    access = grant(owner, alice, member, ["read"])
    member.full_name = HOSTILE
    member.save()
    template = make_template(owner, premium, publish=False)
    client.force_login(owner)
    body = client.get(reverse("signatures:template_preview", args=[template.pk]),
                      {"access": access.pk}).content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt;" in body and "<img src=x" not in body


def test_the_address_list_offers_the_bulk_action_and_it_runs_as_a_job(client, owner, premium,
                                                                      alice, template):
    client.force_login(owner)
    listing = client.get(reverse("mailservice:address_list")).content.decode()
    assert reverse("signatures:activate") in listing and "Apply a signature template" in listing
    chooser = client.post(reverse("signatures:activate"), {"selected": [alice.pk]})
    assert chooser.status_code == 200 and "Corporate" in chooser.content.decode()
    started = client.post(reverse("signatures:activate"), {"selected": [alice.pk],
                                                          "template": template.pk})
    job = Job.objects.get()
    assert started.status_code == 302 and started["Location"] == reverse("signatures:job", args=[job.pk])
    progress = client.get(started["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in progress and 'value="0"' in progress
    services.job_run(job.pk)
    progress = client.get(started["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert 'value="100"' in progress and "hx-trigger" not in progress


def test_a_user_with_the_permission_completes_their_signature_from_my_mail(client, owner, member,
                                                                           premium, alice,
                                                                           template):
    grant(owner, alice, member, ["read", "manage_signature"])
    services.job_run(services.job_start(actor=owner, template=template, kind="activate",
                                        addresses=[alice]).pk)
    client.force_login(member)
    my_mail = client.get(reverse("mailservice:my_mail")).content.decode()
    url = reverse("signatures:address", args=[alice.pk])
    assert url in my_mail
    page = client.get(url).content.decode()
    assert "value-department" in page and "value-website" not in page
    assert "twice" in page  # copying into a client while the server stamps doubles it
    signature = Signature.objects.get(user=member)
    response = client.post(url, {"operation": "values", "signature": signature.pk,
                                 "value-department": "Sales", "value-first_name": "Mia"})
    assert response.status_code == 302
    signature.refresh_from_db()
    assert signature.values == {"department": "Sales", "first_name": "Mia"}
    response = client.post(url, {"operation": "stamping", "on_replies": "replies"})
    assert response.status_code == 302
    from signatures.models import AddressSignatureSettings

    settings_row = AddressSignatureSettings.objects.get(address=alice)
    assert (settings_row.stamping, settings_row.on_replies) == (False, True)
    download = client.get(reverse("signatures:download", args=[signature.pk]))
    assert download["Content-Disposition"] == 'attachment; filename="signature-alice@domain.xyz.html"'
    assert "Sales" in download.content.decode()


def test_without_the_permission_the_page_is_refused_and_strangers_get_404(client, owner, member,
                                                                          outsider, premium,
                                                                          alice, template):
    grant(owner, alice, member, ["read"])
    client.force_login(member)
    url = reverse("signatures:address", args=[alice.pk])
    refused = client.get(url)
    assert refused.status_code == 403 and "Manage signature" in refused.content.decode()
    assert client.get(reverse("signatures:service", args=[premium.pk])).status_code == 404
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.get(reverse("signatures:template_edit", args=[template.pk])).status_code == 404
    assert client.get(reverse("signatures:template_report_csv", args=[template.pk])).status_code == 404


def test_the_report_and_its_csv(client, owner, member, premium, alice, template):
    grant(owner, alice, member, ["read"])
    make_address(owner, premium, "bare")
    services.job_run(services.job_start(actor=owner, template=template, kind="activate",
                                        addresses=[alice]).pk)
    client.force_login(owner)
    page = client.get(reverse("signatures:template_report", args=[template.pk])).content.decode()
    assert "Missing profile data" in page and "No signature" in page
    csv_file = client.get(reverse("signatures:template_report_csv", args=[template.pk]))
    lines = csv_file.content.decode().splitlines()
    assert lines[0] == "address,user,state,outdated,warnings"
    assert lines[1].startswith("alice@domain.xyz,member@example.org,missing_profile_data,no,")
    assert lines[2] == "bare@domain.xyz,,no_signature,,"


def test_images_are_public_typed_and_not_sniffed(client, owner, premium):
    image = services.image_upload(actor=owner, service=premium, data=png(), alt="Acme")
    response = client.get(reverse("signatures:image", args=[image.ref, "png"]))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert client.get(reverse("signatures:image", args=[image.ref, "jpg"])).status_code == 404

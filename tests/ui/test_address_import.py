"""The import page: upload, the dry run's preview, the import; refusals shown by line."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mailservice.models import Address
from mailservice.services import bulk
from manager.core.models import Job

pytestmark = pytest.mark.django_db

HEADER = "local_part,display_name,aliases\n"


@pytest.fixture
def browser_client(client, owner, organisation):
    client.force_login(owner)
    return client


def upload(client, service, text):
    return client.post("/mail/addresses/import/", {
        "mail_service": service.pk, "file": SimpleUploadedFile("a.csv", text.encode())})


def test_the_list_links_to_the_import_page(browser_client, premium):
    assert "/mail/addresses/import/" in browser_client.get("/mail/addresses/").content.decode()
    page = browser_client.get("/mail/addresses/import/").content.decode()
    assert "domain.xyz" in page and "local_part, display_name" in page


def test_upload_previews_then_imports(browser_client, premium):
    response = upload(browser_client, premium, HEADER + "bob,Bob Brown,bobby\n")
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/mail/imports/{job.pk}/"
    assert job.params["dry_run"] is True
    page = browser_client.get(response["Location"]).content.decode()
    assert 'hx-trigger="every 1s"' in page and "Queued" in page
    bulk.import_run(job.pk)
    partial = browser_client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert "every 1s" not in partial and "bob@domain.xyz" in partial and "Import this address" in partial
    assert not Address.objects.filter(local_part="bob").exists()
    response = browser_client.post(f"/mail/imports/{job.pk}/")
    real = Job.objects.latest("pk")
    assert response["Location"] == f"/mail/imports/{real.pk}/" and real.params["dry_run"] is False
    bulk.import_run(real.pk)
    assert "Imported: 1 addresses" in browser_client.get(response["Location"]).content.decode()
    assert Address.objects.get(local_part="bob").aliases.get().local_part == "bobby"


def test_a_refused_file_lists_its_errors(browser_client, premium):
    upload(browser_client, premium, HEADER + "bad..name,,\n")
    job = Job.objects.get()
    bulk.import_run(job.pk)
    page = browser_client.get(f"/mail/imports/{job.pk}/").content.decode()
    assert "nothing was imported" in page and "<td>2</td><td>local_part</td>" in page


def test_a_member_has_no_import_page(client, member, premium):
    client.force_login(member)
    assert client.get("/mail/addresses/import/").status_code == 404


def test_another_organisations_import_is_a_404(client, owner, premium, outsider, other_organisation):
    job = bulk.import_start(actor=owner, service=premium, data=HEADER.encode(), dry_run=True)
    client.force_login(outsider)
    assert client.get(f"/mail/imports/{job.pk}/").status_code == 404

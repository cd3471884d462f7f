"""The zone file through the API: export, import with a dry run first, errors with lines."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dnszones.models import Record
from manager.audit.models import AuditEntry
from manager.core.models import PushJob
from tests.factories import make_record

pytestmark = pytest.mark.django_db

ZONE = """$ORIGIN example.org.
$TTL 900
@ IN SOA ns1.registrar.example. hostmaster.registrar.example. 1 7200 900 1209600 300
@ IN NS ns1.registrar.example.
@ MX 10 mail
www 300 A 192.0.2.1
"""


def test_the_export_is_a_zone_file_with_origin_ttl_soa_and_records(owner_api, owner, zone, settings):
    settings.DNS_NAMESERVERS = ["ns1.example.net."]
    make_record(owner, zone, "www", "A", "192.0.2.1", ttl=300)
    response = owner_api.get(f"/api/v1/domains/{zone.pk}/zone-file/")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/dns")
    lines = response.content.decode().splitlines()
    assert lines[1:3] == ["$ORIGIN example.org.", "$TTL 3600"]
    assert lines[3].split()[2:5] == ["IN", "SOA", "ns1.example.net."]
    assert lines[-1].split() == ["www", "300", "IN", "A", "192.0.2.1"]


def test_a_dry_run_tells_what_would_change_and_saves_nothing(owner_api, owner, zone):
    make_record(owner, zone, "old", "A", "192.0.2.9")
    make_record(owner, zone, "www", "A", "192.0.2.1", ttl=600)
    job = PushJob.objects.get(target_id="example.org")
    response = owner_api.post(f"/api/v1/domains/{zone.pk}/zone-file/?dry_run=1", {"zone_file": ZONE},
                              format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["dry_run"] is True and body["applied"] is False
    assert body["added"] == [{"name": "@", "type": "MX", "ttl": 900, "value": "10 mail.example.org."}]
    assert [r["name"] for r in body["removed"]] == ["old"]
    assert body["changed"] == [{"before": {"name": "www", "type": "A", "ttl": 600, "value": "192.0.2.1"},
                                "after": {"name": "www", "type": "A", "ttl": 300, "value": "192.0.2.1"}}]
    assert len(body["ignored"]) == 2 and "Line 3" in body["ignored"][0]
    assert Record.objects.filter(domain=zone).count() == 2
    assert PushJob.objects.get(pk=job.pk).generation == job.generation


def test_an_import_replaces_the_records_audits_and_pushes_once(owner_api, owner, zone):
    make_record(owner, zone, "old", "A", "192.0.2.9")
    job = PushJob.objects.get(target_id="example.org")
    upload = SimpleUploadedFile("example.org.zone", ZONE.encode(), content_type="text/dns")
    response = owner_api.put(f"/api/v1/domains/{zone.pk}/zone-file/", {"file": upload},
                             format="multipart")
    assert response.status_code == 200 and response.json()["applied"] is True
    assert sorted((r.name, r.type, r.ttl) for r in Record.objects.filter(domain=zone)) == [
        ("@", "MX", 900), ("www", "A", 300)]
    assert PushJob.objects.get(pk=job.pk).generation == job.generation + 1
    assert AuditEntry.objects.get(verb="dns_zone.import").changes["added"] == [None, 2]


def test_a_zone_file_with_errors_is_refused_with_line_numbers(owner_api, zone):
    text = "www A 999.1.1.1\nmx MX 10\nok A 192.0.2.1\n"
    response = owner_api.post(f"/api/v1/domains/{zone.pk}/zone-file/", {"zone_file": text},
                              format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_zone_file"
    assert [m.split(":")[0] for m in error["fields"]["zone_file"]] == ["Line 1", "Line 2"]
    assert not Record.objects.exists()


def test_an_import_without_a_zone_file_is_refused_on_the_field(owner_api, zone):
    response = owner_api.post(f"/api/v1/domains/{zone.pk}/zone-file/", {}, format="json")
    assert response.status_code == 400 and "zone_file" in response.json()["error"]["fields"]


def test_the_exported_file_imports_back_to_no_change(owner_api, owner, zone):
    make_record(owner, zone, "www", "A", "192.0.2.1")
    make_record(owner, zone, "@", "TXT", "v=spf1 " + "include:a.example " * 30 + "-all")
    exported = owner_api.get(f"/api/v1/domains/{zone.pk}/zone-file/").content.decode()
    body = owner_api.post(f"/api/v1/domains/{zone.pk}/zone-file/?dry_run=1",
                          {"zone_file": exported}, format="json").json()
    assert (body["added"], body["removed"], body["changed"], body["unchanged"]) == ([], [], [], 2)


def test_a_member_cannot_import(api, member, zone):
    response = api(member).post(f"/api/v1/domains/{zone.pk}/zone-file/", {"zone_file": ZONE},
                                format="json")
    assert response.status_code == 404

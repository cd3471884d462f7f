"""The bulk import and export of addresses (API): a job with progress, every row checked as
a single creation is, row-level errors and nothing imported when one row fails, the plan
checked for the whole file, one push, audit entries per object, queries per batch, and an
export that imports back."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mailservice.models import PUSH_KIND, Address, AddressAccess, Alias, Redirection
from mailservice.services import bulk
from manager.audit.models import AuditEntry
from manager.core.models import Job, PushJob
from tests.factories import add_member, make_address, make_mail_service, make_user

pytestmark = pytest.mark.django_db

HEADER = "local_part,display_name,quota_mb,enabled,aliases,redirections,redirections_no_copy,users\n"


@pytest.fixture
def premium(premium, owner):
    """Room for the files of these tests (the fixture's plan allows 5 addresses)."""
    from mailservice import services

    return services.mail_service_update(actor=owner, service=premium, capacity=200)


def csv_file(text: str, *, bom=False, name="addresses.csv"):
    data = ("\ufeff" if bom else "").encode() + text.encode()
    return SimpleUploadedFile(name, data, content_type="text/csv")


def start(client, service, text, **extra):
    response = client.post("/api/v1/addresses/import/",
                           {"file": csv_file(text, bom=extra.pop("bom", False)),
                            "mail_service": service.pk, **extra}, format="multipart")
    return response


def run(client, service, text, **extra):
    """Upload, run the job as the worker does, and return the job resource."""
    response = start(client, service, text, **extra)
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "queued"
    assert response["Location"] == f"/api/v1/jobs/{response.json()['id']}/"
    bulk.import_run(response.json()["id"])
    return client.get(f"/api/v1/jobs/{response.json()['id']}/").json()


def test_an_import_creates_addresses_aliases_redirections_and_users(api, owner, organisation,
                                                                   premium, member):
    text = (HEADER
            + "Bob,Bob Brown,2048,true,bobby robert,bob@elsewhere.example,,member@example.org:read+send\n"
            + "carol,Carol,,no,,,archive@elsewhere.example,\n")
    job = run(api(owner), premium, text, bom=True)
    assert job["state"] == "done" and job["progress"] == 100 and job["errors"] == []
    assert job["result"] == {"addresses": 2, "aliases": 2, "redirections": 2, "users": 1,
                             "dry_run": False}
    bob = Address.objects.get(mail_service=premium, local_part="bob")
    assert (bob.display_name, bob.quota_mb, bob.enabled) == ("Bob Brown", 2048, True)
    assert sorted(bob.aliases.values_list("local_part", flat=True)) == ["bobby", "robert"]
    assert list(bob.redirections.values_list("target", "keep_copy")) == [("bob@elsewhere.example", True)]
    access = AddressAccess.objects.get(address=bob)
    assert (access.user, access.permissions) == (member, ["read", "send"])
    carol = Address.objects.get(mail_service=premium, local_part="carol")
    assert carol.enabled is False and carol.quota_mb == Address._meta.get_field("quota_mb").default
    assert list(carol.redirections.values_list("target", "keep_copy")) == [
        ("archive@elsewhere.example", False)]


def test_semicolons_and_a_byte_order_mark_are_read(api, owner, premium):
    job = run(api(owner), premium, "local_part;display_name\nzoé;Zoé Zèbre\n".replace("zoé;", "zoe;"),
              bom=True)
    assert job["state"] == "done", job["errors"]
    assert Address.objects.get(local_part="zoe").display_name == "Zoé Zèbre"


def test_one_bad_row_refuses_the_file_with_each_error_located(api, owner, premium, alice, member):
    make_address(owner, premium, "gone").delete()  # a plain delete: the local part is free
    text = (HEADER
            + "ok1,,,,,,,\n"
            + "Alice,,,,,,,\n"  # taken by an address
            + "bad..dots,,,,,,,\n"  # the single creation's syntax rule
            + "ok2,,huge,maybe,catchall,not-an-email,,member@example.org\n"
            + "ok3,,,,,,,stranger@example.org\n"
            + "ok1,,,,,,,\n")  # twice in the file
    job = run(api(owner), premium, text)
    assert job["state"] == "failed"
    located = {(e["line"], e["column"]) for e in job["errors"]}
    # (The users of line 5 are not looked up: the database is asked about lines whose
    # own values pass.)
    assert located == {(3, "local_part"), (4, "local_part"), (5, "quota_mb"), (5, "enabled"),
                       (5, "aliases"), (5, "redirections"), (6, "users"), (7, "local_part")}
    messages = {(e["line"], e["column"]): e["message"] for e in job["errors"]}
    assert "alice@domain.xyz is already in use." == messages[(3, "local_part")]
    assert "is already on line 2" in messages[(7, "local_part")]
    assert "Only members of the organisation" in messages[(6, "users")]
    assert not Address.objects.filter(local_part__in=["ok1", "ok2"]).exists()
    assert Address.objects.filter(mail_service=premium).count() == 1


def test_a_local_part_held_by_a_removed_address_is_refused_as_by_a_creation(api, owner, premium):
    from mailservice import services

    held = make_address(owner, premium, "held")
    services.alias_create(actor=owner, address=held, local_part="old-alias")
    services.address_delete(actor=owner, address=held)
    job = run(api(owner), premium, HEADER + "held,,,,,,,\nnew,,,,old-alias,,,\n")
    assert job["state"] == "failed"
    assert [e["column"] for e in job["errors"]] == ["local_part", "aliases"]
    assert all("removed on" in e["message"] for e in job["errors"])


def test_a_redirection_loop_through_the_file_is_refused(api, owner, premium):
    text = HEADER + "a,,,,,b@domain.xyz,,\nb,,,,,a@domain.xyz,,\n"
    job = run(api(owner), premium, text)
    assert job["state"] == "failed"
    assert {e["column"] for e in job["errors"]} == {"redirections"}
    assert "loop" in job["errors"][0]["message"]


def test_the_plan_limits_are_checked_for_the_whole_file(api, owner, organisation):
    starter = make_mail_service(owner, organisation, "small.example", plan="starter")
    limit = starter.address_limit
    rows = "".join(f"user{i},,,,,,,\n" for i in range(limit + 1))
    job = run(api(owner), starter, HEADER + rows)
    assert job["state"] == "failed"
    assert job["errors"][0]["line"] is None and "plan allows" in job["errors"][0]["message"]
    assert not Address.objects.filter(mail_service=starter).exists()
    storage = starter.storage_limit_mb
    job = run(api(owner), starter, HEADER + f"big,,{storage + 1},,,,,\n")
    assert job["state"] == "failed" and "MB" in job["errors"][0]["message"]


def test_unknown_and_missing_columns_are_refused_on_the_header(api, owner, premium):
    job = run(api(owner), premium, "display_name,colour\nBob,blue\n")
    assert job["state"] == "failed"
    assert {(e["line"], e["column"]) for e in job["errors"]} == {(1, "colour"), (1, "local_part")}


def test_a_file_that_is_not_utf8_is_a_400_before_any_job(api, owner, premium):
    response = api(owner).post("/api/v1/addresses/import/", {
        "file": SimpleUploadedFile("a.csv", "local_part\nzoé\n".encode("latin-1")),
        "mail_service": premium.pk}, format="multipart")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_file"
    assert not Job.objects.exists()


def test_a_dry_run_previews_and_creates_nothing(api, owner, premium):
    job = run(api(owner), premium, HEADER + "bob,Bob,,,,,,\n", dry_run="true")
    assert job["state"] == "done" and job["dry_run"] is True
    assert job["result"]["preview"][0]["email"] == "bob@domain.xyz"
    assert not Address.objects.filter(local_part="bob").exists()


def test_audit_entries_per_created_object(api, owner, premium, member):
    client = api(owner)
    entries = AuditEntry.objects.count()
    rows = "".join(f"u{i},,,,u{i}-alias,x{i}@elsewhere.example,,member@example.org\n"
                   for i in range(30))
    assert run(client, premium, HEADER + rows)["state"] == "done"
    # one audit entry per address, alias, redirection and user, plus the upload's
    new = AuditEntry.objects.order_by("pk")[entries:]
    assert len(new) == 30 * 4 + 1, [(e.object_type, e.verb) for e in new][:3]
    created = AuditEntry.objects.filter(object_type="mailservice.address", action="create")
    assert created.filter(object_repr="u7@domain.xyz").exists()


def test_the_import_pushes_once(api, owner, premium):
    before = PushJob.objects.get(kind=PUSH_KIND, target_id=premium.domain).generation
    assert run(api(owner), premium, HEADER + "".join(f"p{i},,,,,,,\n" for i in range(25)))[
        "state"] == "done"
    assert PushJob.objects.get(kind=PUSH_KIND, target_id=premium.domain).generation == before + 1


def _import_queries(owner, service, rows, batch, monkeypatch):
    monkeypatch.setattr(bulk, "BATCH", batch)
    text = HEADER + "".join(f"q{batch}-{i},,,,q{batch}-{i}-a,t{i}@elsewhere.example,,"
                            f"member@example.org:read\n" for i in range(rows))
    job = bulk.import_start(actor=owner, service=service, data=text.encode())
    with CaptureQueriesContext(connection) as queries:
        assert bulk.import_run(job.pk) == "done", Job.objects.get(pk=job.pk).errors
    return len(queries.captured_queries)


def test_an_import_costs_queries_per_batch_not_per_row(owner, organisation, member, monkeypatch):
    service = make_mail_service(owner, organisation, "many.example", plan="premium", capacity=500)
    # The same number of batches, twice the rows: the same number of queries.
    assert _import_queries(owner, service, 40, 20, monkeypatch) == \
        _import_queries(owner, service, 20, 10, monkeypatch)


def test_progress_is_visible_while_the_job_runs(api, owner, premium, monkeypatch):
    monkeypatch.setattr(bulk, "BATCH", 10)
    client = api(owner)
    response = start(client, premium, HEADER + "".join(f"r{i},,,,,,,\n" for i in range(60)))
    job_id = response.json()["id"]
    seen = []
    original = bulk._set_progress

    def watched(pk, percent):
        original(pk, percent)
        body = client.get(f"/api/v1/jobs/{job_id}/").json()
        seen.append((body["state"], body["progress"]))

    monkeypatch.setattr(bulk, "_set_progress", watched)
    bulk.import_run(job_id)
    assert {state for state, _p in seen} == {"running"}
    progress = [p for _s, p in seen]
    assert progress == sorted(progress) and 0 < progress[0] < progress[-1] < 100
    assert client.get(f"/api/v1/jobs/{job_id}/").json()["state"] == "done"
    assert bulk.import_run(job_id) == "skipped"  # a second delivery does nothing


def test_export_streams_what_imports_back(api, owner, organisation, premium, member):
    client = api(owner)
    text = (HEADER + "bob,Bob Brown,2048,true,bobby robert,bob@elsewhere.example,keep@x.example,"
            "member@example.org:read+send\ncarol,\"Carol, the boss\",,false,,,,\n")
    assert run(client, premium, text)["state"] == "done"
    response = client.get(f"/api/v1/addresses/export/?mail_service={premium.pk}")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    exported = b"".join(response.streaming_content).decode("utf-8")
    assert exported.startswith("\ufeff" + HEADER.strip())
    copy = make_mail_service(owner, organisation, "copy.example", plan="premium")
    job = run(client, copy, exported)
    assert job["state"] == "done", job["errors"]
    again = b"".join(client.get(f"/api/v1/addresses/export/?mail_service={copy.pk}")
                     .streaming_content).decode()
    assert again == exported
    assert Alias.objects.filter(mail_service=copy).count() == 2
    assert Redirection.objects.filter(address__mail_service=copy).count() == 2


def test_export_reads_a_batch_at_a_time(api, owner, premium, monkeypatch):
    monkeypatch.setattr(bulk, "BATCH", 5)
    Address.objects.bulk_create(Address(mail_service=premium, local_part=f"e{i:02d}")
                                for i in range(23))
    with CaptureQueriesContext(connection) as queries:
        rows = list(bulk.export_rows(premium))
    assert len(rows) == 24 and rows[1][0] == "e00" and rows[-1][0] == "e22"
    assert len(queries.captured_queries) == 5 * 4 + 1  # 5 batches of 4 queries, the empty end


def test_only_managers_import_and_export(api, owner, organisation, premium, member, outsider):
    assert start(api(member), premium, HEADER).status_code == 400  # not visible to a member
    add_member(organisation, admin := make_user("admin2@example.org"), "admin")
    assert start(api(admin), premium, HEADER + "x,,,,,,,\n").status_code == 202
    assert start(api(outsider), premium, HEADER).status_code == 400
    assert api(outsider).get(f"/api/v1/addresses/export/?mail_service={premium.pk}").status_code == 400
    assert api(owner).get("/api/v1/addresses/export/").status_code == 400


def test_another_organisations_job_is_a_404(api, owner, premium, outsider):
    job_id = start(api(owner), premium, HEADER).json()["id"]
    assert api(outsider).get(f"/api/v1/jobs/{job_id}/").status_code == 404

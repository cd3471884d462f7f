"""The DNS records a mail service installs: the pure list (pinned in a golden file), their
installation in a zone we serve (the owner's records win), their removal with the service
(the owner's stay), the list to create at an external DNS host with its check, and the
page and API that show them."""
import os
from pathlib import Path

import pytest

from dnszones.models import Domain, Record
from dnszones.zone.records import clean_record
from mailservice import services
from mailservice.mail_records import DkimPublication, MailDnsSettings, mail_records
from mailservice.services.dns_records import KEPT, OWNER, managed_tag
from manager.audit.models import AuditEntry
from manager.core.models import PushJob
from tests.factories import make_domain, make_mail_service, make_record

GOLDEN = Path(__file__).parent / "golden"
HOSTS = MailDnsSettings(mx_host="MX2.Example.NET", spf_include="_spf.example.net",
                        dmarc_report_address="dmarc@example.net",
                        client_setup_host="setup.example.net", imap_host="imap.example.net",
                        smtp_host="smtp.example.net")
KEY = DkimPublication(selector="mm20260101abcdef", public_key="MIIBIjANBgkqhkiG9w0B" + "A" * 372)


def pinned(path: Path, text: str):
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def test_the_records_of_a_mail_service_are_as_pinned_and_valid_in_a_zone():
    records = mail_records(HOSTS, [KEY])
    pinned(GOLDEN / "mail_records.txt",
           "".join(f"{r.name} {r.type} {r.value} ; {r.purpose}\n" for r in records))
    for record in records:  # every one is accepted as a record of the zone
        clean_record("example.org", name=record.name, type=record.type, ttl=3600,
                     value=record.value)


@pytest.fixture
def served(owner, organisation, settings):
    settings.MAIL_MX_HOSTS = {"default": "mx1.example.net"}
    return make_domain(owner, organisation, "served.example")


def test_a_service_on_a_zone_we_serve_installs_its_records_and_pushes_the_zone(owner, organisation,
                                                                             served):
    service = make_mail_service(owner, organisation, "served.example")
    mine = Record.objects.filter(domain=served, managed_by=managed_tag(service))
    assert set(mine.values_list("name", "type")) >= {
        ("@", "MX"), ("@", "TXT"), ("_dmarc", "TXT"), ("autoconfig", "CNAME"),
        ("autodiscover", "CNAME"), ("_imaps._tcp", "SRV"), ("_submission._tcp", "SRV"),
        ("_imap._tcp", "SRV"), ("_pop3._tcp", "SRV")}
    assert mine.get(type="MX").value == "10 mx1.example.net."
    key = service.dkim_keys.get()
    dkim = mine.get(name=f"{key.selector}._domainkey")
    assert dkim.shown_value == f"v=DKIM1; k=rsa; p={key.public_key}"
    assert PushJob.objects.filter(kind="dns_zone", target_id="served.example").exists()
    entry = AuditEntry.objects.get(verb="mail_service.dns_records")
    assert any("MX 10 mx1.example.net." in line for line in entry.changes["changes"][1])


def test_the_owners_records_of_a_kind_are_kept_instead_of_ours(owner, organisation, served):
    make_record(owner, served, "@", "TXT", "v=spf1 include:other.example -all")
    make_record(owner, served, "@", "TXT", "google-site-verification=abc")
    make_record(owner, served, "autoconfig", "A", "192.0.2.7")
    service = make_mail_service(owner, organisation, "served.example")
    mine = Record.objects.filter(domain=served, managed_by=managed_tag(service))
    assert not mine.filter(name="@", type="TXT").exists()  # one SPF: theirs
    assert not mine.filter(name="autoconfig").exists()  # no CNAME beside their A
    assert mine.filter(name="@", type="MX").exists()
    rows = {(r.name, r.type): r for r in services_dns(service)}
    assert rows[("@", "TXT")].status == KEPT
    assert rows[("@", "TXT")].their_value == "v=spf1 include:other.example -all"
    assert rows[("autoconfig", "CNAME")].status == KEPT and "CNAME" in rows[("autoconfig", "CNAME")].reason


def services_dns(service):
    from mailservice.selectors import mail_dns

    return mail_dns(service).records


def test_removing_the_service_removes_what_it_installed_and_keeps_the_owners(owner, organisation,
                                                                          served):
    theirs = make_record(owner, served, "www", "A", "192.0.2.80")
    service = make_mail_service(owner, organisation, "served.example")
    tag = managed_tag(service)
    dmarc = Record.objects.get(domain=served, managed_by=tag, name="_dmarc")
    # The owner edits the installed DMARC policy: it is theirs from now on.
    from dnszones import services as dns_services

    dns_services.record_update(actor=owner, record=dmarc,
                               value="v=DMARC1; p=quarantine; rua=mailto:dmarc@example.net")
    assert Record.objects.get(pk=dmarc.pk).managed_by == ""
    services.mail_service_delete(actor=owner, service=service)
    left = set(Record.objects.filter(domain=served).values_list("name", "type"))
    assert left == {("www", "A"), ("_dmarc", "TXT")}
    assert Record.objects.get(pk=theirs.pk).value == "192.0.2.80"
    # Restored, it installs its records again beside the owner's DMARC.
    services.mail_service_restore(actor=owner, service=service)
    assert Record.objects.filter(domain=served, managed_by=tag, type="MX").exists()
    assert not Record.objects.filter(domain=served, managed_by=tag, name="_dmarc").exists()
    assert {(r.name, r.status) for r in services_dns(service)} >= {("_dmarc", KEPT)}


def test_an_exact_copy_of_ours_is_the_owners_and_stays(owner, organisation, served, settings):
    make_record(owner, served, "@", "MX", "10 mx1.example.net.")
    service = make_mail_service(owner, organisation, "served.example")
    assert not Record.objects.filter(domain=served, managed_by=managed_tag(service), type="MX").exists()
    assert {(r.name, r.type): r.status for r in services_dns(service)}[("@", "MX")] == OWNER
    services.mail_service_delete(actor=owner, service=service)
    assert Record.objects.filter(domain=served, type="MX").count() == 1


def test_an_external_domain_lists_the_records_to_create_and_checks_them(owner, organisation, api,
                                                                       monkeypatch):
    service = make_mail_service(owner, organisation, "elsewhere.example")
    domain = Domain.objects.get(name="elsewhere.example")
    assert not domain.uses_our_dns
    assert not PushJob.objects.filter(kind="dns_zone", target_id="elsewhere.example").exists()

    from dnszones import external
    from dnszones.resolver import Answer

    def lookup(name, rtype):  # the owner's DNS host has created the MX only
        if rtype == "MX":
            return Answer(name, rtype, 300, ("10 mx.example.net.",))
        return Answer(name, rtype, 0, ())
    monkeypatch.setattr(external, "lookup", lookup)
    body = api(owner).get(f"/api/v1/mail-services/{service.pk}/dns-records/?check=1").json()
    assert body["domain"] == "elsewhere.example" and body["uses_our_dns"] is False
    present = {(r["name"], r["type"]): r["present"] for r in body["records"]}
    assert present[("@", "MX")] is True and present[("_dmarc", "TXT")] is False
    assert [k["state"] for k in body["dkim_keys"]] == ["active"]
    unchecked = api(owner).get(f"/api/v1/mail-services/{service.pk}/dns-records/").json()
    assert {r["present"] for r in unchecked["records"]} == {None}


def test_the_dns_records_endpoint_goes_through_the_gate(api, outsider, member, admin, premium):
    records = f"/api/v1/mail-services/{premium.pk}/dns-records/"
    rotate = f"/api/v1/mail-services/{premium.pk}/dkim/rotate/"
    for who in (outsider, member):  # a member sees only the addresses granted to them
        assert api(who).get(records).status_code == 404
        assert api(who).post(rotate).status_code == 404
    assert api(admin).get(records).status_code == 200
    started = api(admin).post(rotate)
    assert started.status_code == 201 and started.json()["state"] == "publishing"
    assert "private_key" not in started.json()
    again = api(admin).post(rotate)
    assert again.status_code == 409 and again.json()["error"]["code"] == "rotation_in_progress"


def test_the_service_page_shows_its_records_and_keys_and_rotates(client, owner, organisation,
                                                                served):
    service = make_mail_service(owner, organisation, "served.example")
    client.force_login(owner)
    page = client.get(f"/mail/services/{service.pk}/").content.decode()
    assert 'id="mail-dns-records"' in page and "mx1.example.net." in page
    assert service.dkim_keys.get().selector in page and "Rotate key" in page
    response = client.post(f"/mail/services/{service.pk}/dkim/rotate/")
    assert response.status_code == 302
    assert service.dkim_keys.filter(state="publishing").count() == 1
    page = client.get(f"/mail/services/{service.pk}/").content.decode()
    assert "A rotation is under way." in page and 'data-state="publishing"' in page
    again = client.post(f"/mail/services/{service.pk}/dkim/rotate/", follow=True)
    assert "already under way" in again.content.decode()


def test_an_external_domains_check_is_shown_on_the_page(client, owner, organisation, monkeypatch):
    service = make_mail_service(owner, organisation, "elsewhere.example")
    from dnszones import external
    from dnszones.resolver import Answer

    monkeypatch.setattr(external, "lookup", lambda name, rtype: Answer(name, rtype, 0, ()))
    client.force_login(owner)
    page = client.get(f"/mail/services/{service.pk}/").content.decode()
    assert "create these records at your DNS host" in page and "To create" in page
    checked = client.get(f"/mail/services/{service.pk}/dns/?check=1").content.decode()
    assert "Missing" in checked and "Check again" in checked

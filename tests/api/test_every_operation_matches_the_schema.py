"""Every operation of the published schema, called for real, answers what the schema says:
the status is one it lists and the body validates against it — successes, and the failures
every operation can give (401 without credentials, 404 for another organisation's object,
400 for bad input). A new route that this walk does not call fails the coverage check, so
the schema cannot drift from the server unnoticed."""
import re
import socket

import pytest

from mailtools.models import PhishingReport
from tests.api.schema_check import check
from tests.factories import grant, make_user

pytestmark = pytest.mark.django_db

MESSAGE = (b"Return-Path: <news@shop.example>\r\nFrom: Shop <news@shop.example>\r\n"
           b"To: alice@domain.xyz\r\nSubject: Offers\r\nMessage-ID: <1@shop.example>\r\n\r\nHello\r\n")
SCRIPT = 'require ["fileinto"];\nif header :contains "subject" "offers" { fileinto "Offers"; }\n'


def operations(schema):
    return {(method, path) for path, ops in schema["paths"].items() for method in ops
            if method in ("get", "post", "put", "patch", "delete")}


class Walk:
    """Calls operations as one client and checks each answer against the schema."""

    def __init__(self, client, schema):
        self.client, self.schema, self.called = client, schema, set()

    def __call__(self, method, path, body=None, *, expect=None, multipart=False, **ids):
        url = path.format(**ids)
        kwargs = {"format": "multipart" if multipart else "json"} if body is not None else {}
        response = getattr(self.client, method)(url, body, **kwargs) if body is not None \
            else getattr(self.client, method)(url)
        if expect is not None:
            assert response.status_code == expect, (method, url, response.content[:300])
        path = path.partition("?")[0]
        check(self.schema, method, path, response)
        self.called.add((method, path))
        return response.json() if response.get("Content-Type", "").startswith("application/json") \
            and response.content else None


def upload(name, data, content_type="message/rfc822"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type=content_type)


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_every_operation_answers_what_the_schema_says(api, owner, member, organisation, premium,
                                                       alice, schema, settings, mailoutbox,
                                                       sieve_test):
    settings.MAIL_IMAP_HOST = settings.MAIL_SMTP_HOST = "127.0.0.1"
    settings.MAIL_IMAP_PORT = settings.MAIL_SMTP_PORT = settings.MAIL_SMTPS_PORT = closed_port()
    grant(owner, alice, owner, ["read", "send"])  # device passwords are a user's own
    walk = Walk(api(owner), schema)
    o, s, a = organisation.pk, premium.pk, alice.pk
    v1 = "/api/v1"

    # Organisations, their members and invitations.
    walk("get", v1 + "/organisations/", expect=200)
    walk("get", v1 + "/organisations/{id}/", id=o, expect=200)
    walk("put", v1 + "/organisations/{id}/", {"name": "Acme"}, id=o, expect=200)
    walk("patch", v1 + "/organisations/{id}/", {"name": "Acme SA"}, id=o, expect=200)
    spare = walk("post", v1 + "/organisations/", {"name": "Spare"}, expect=201)["id"]
    walk("get", v1 + "/organisations/{organisation_pk}/members/", organisation_pk=o, expect=200)
    walk("post", v1 + "/organisations/{organisation_pk}/members/",
         {"email": "newcomer@personal.example", "role": "member"}, organisation_pk=o, expect=202)
    walk("post", v1 + "/organisations/{organisation_pk}/members/",
         {"email": "not an address"}, organisation_pk=o, expect=400)
    memberships = walk("get", v1 + "/organisations/{organisation_pk}/members/", organisation_pk=o)
    membership = next(m["id"] for m in memberships["results"] if m["role"] == "member")
    for method in ("get", "put", "patch"):
        walk(method, v1 + "/organisations/{organisation_pk}/members/{id}/",
             None if method == "get" else {"role": "member"}, organisation_pk=o, id=membership,
             expect=200)
    for operation in ("disable", "enable"):
        walk("post", v1 + "/organisations/{organisation_pk}/members/{id}/" + operation + "/", {},
             organisation_pk=o, id=membership, expect=200)
    invitations = walk("get", v1 + "/organisations/{organisation_pk}/invitations/",
                       organisation_pk=o, expect=200)["results"]
    invitation = invitations[0]["id"]
    walk("get", v1 + "/organisations/{organisation_pk}/invitations/{id}/", organisation_pk=o,
         id=invitation, expect=200)
    walk("post", v1 + "/organisations/{organisation_pk}/invitations/{id}/resend/", {},
         organisation_pk=o, id=invitation, expect=200)
    token = re.search(r"/([A-Za-z0-9_-]{20,})/?\s", mailoutbox[-1].body + " ").group(1)
    newcomer = Walk(api(make_user("newcomer@personal.example")), schema)
    newcomer("post", v1 + "/organisation-invitations/{token}/accept/", {}, token="not-a-token")
    newcomer("post", v1 + "/organisation-invitations/{token}/accept/", {}, token=token, expect=201)
    walk.called |= newcomer.called
    second = walk("get", v1 + "/organisations/{organisation_pk}/members/",
                  organisation_pk=o)["results"]
    joined = next(m["id"] for m in second if m["user"]["email"] == "newcomer@personal.example")
    walk("delete", v1 + "/organisations/{organisation_pk}/members/{id}/", organisation_pk=o,
         id=joined, expect=204)
    walk("post", v1 + "/organisations/{organisation_pk}/members/",
         {"email": "later@personal.example"}, organisation_pk=o, expect=202)
    pending = walk("get", v1 + "/organisations/{organisation_pk}/invitations/",
                   organisation_pk=o)["results"]
    later = next(i["id"] for i in pending if i["email"] == "later@personal.example")
    walk("delete", v1 + "/organisations/{organisation_pk}/invitations/{id}/", organisation_pk=o,
         id=later, expect=204)

    # Mail services and rule templates.
    walk("get", v1 + "/mail-services/", expect=200)
    walk("get", v1 + "/mail-services/?limit=0", expect=400)
    extra = walk("post", v1 + "/mail-services/", {"organisation": o, "domain": "extra.example",
                                                  "plan": "starter"}, expect=201)["id"]
    walk("post", v1 + "/mail-services/", {"organisation": o, "domain": "extra.example",
                                          "plan": "starter"})
    walk("get", v1 + "/mail-services/{id}/", id=s, expect=200)
    walk("put", v1 + "/mail-services/{id}/", {"organisation": o, "domain": "extra.example",
                                              "plan": "premium"}, id=extra, expect=200)
    walk("patch", v1 + "/mail-services/{id}/", {"plan": "starter"}, id=extra, expect=200)
    walk("get", v1 + "/mail-services/{id}/sync/", id=s, expect=200)
    walk("post", v1 + "/mail-services/{id}/sync/", {}, id=s, expect=202)
    walk("get", v1 + "/mail-services/{id}/dns-records/", id=s, expect=200)
    walk("post", v1 + "/mail-services/{id}/dkim/rotate/", {}, id=s, expect=201)
    walk("post", v1 + "/mail-services/{id}/dkim/rotate/", {}, id=s, expect=409)
    templates = v1 + "/mail-services/{service_pk}/rule-templates/"
    walk("get", templates, service_pk=s, expect=200)
    template = walk("post", templates, {"name": "Newsletters", "rules": [
        {"name": "news", "conditions": [{"field": "subject", "operator": "contains",
                                         "value": "news"}],
         "actions": [{"kind": "move", "argument": "News"}]}]}, service_pk=s, expect=201)["id"]
    walk("get", templates + "{id}/", service_pk=s, id=template, expect=200)
    walk("put", templates + "{id}/", {"name": "News"}, service_pk=s, id=template, expect=200)
    walk("patch", templates + "{id}/", {"for_new_addresses": False}, service_pk=s, id=template,
         expect=200)
    walk("post", templates + "{id}/apply/", {"addresses": [a]}, service_pk=s, id=template,
         expect=200)
    walk("delete", templates + "{id}/", service_pk=s, id=template, expect=204)

    # Signature templates, their images, jobs and the signatures of an address.
    from tests.signatures.conftest import png

    signature_templates = v1 + "/mail-services/{service_pk}/signature-templates/"
    images = v1 + "/mail-services/{service_pk}/signature-images/"
    walk("get", images, service_pk=s, expect=200)
    logo = walk("post", images, {"file": upload("logo.png", png(), "image/png"), "alt": "Acme"},
                multipart=True, service_pk=s, expect=201)["id"]
    walk("post", images, {"file": upload("x.svg", b"<svg onload=alert(1)/>", "image/svg+xml"),
                          "alt": "x"}, multipart=True, service_pk=s, expect=400)
    walk("get", signature_templates, service_pk=s, expect=200)
    design = {"name": "Corporate", "layout": "logo", "fields": [
        {"key": "first_name", "source": "auto"}, {"key": "department", "source": "user"},
        {"key": "logo", "source": "fixed", "value": logo}]}
    signature_template = walk("post", signature_templates, design, service_pk=s,
                              expect=201)["id"]
    walk("post", signature_templates, {**design, "fields": [{"key": "photo"}]}, service_pk=s,
         expect=400)
    walk("get", signature_templates + "{id}/", service_pk=s, id=signature_template, expect=200)
    walk("put", signature_templates + "{id}/", {"name": "Corporate 2026"}, service_pk=s,
         id=signature_template, expect=200)
    walk("patch", signature_templates + "{id}/", {"accent_color": "#aa3300"}, service_pk=s,
         id=signature_template, expect=200)
    walk("post", signature_templates + "{id}/activate/", {"addresses": [a]}, service_pk=s,
         id=signature_template, expect=409)  # a draft is not activated
    walk("get", signature_templates + "{id}/preview/?user=" + str(owner.pk), service_pk=s,
         id=signature_template, expect=200)
    walk("post", signature_templates + "{id}/publish/", {}, service_pk=s, id=signature_template,
         expect=200)
    walk("get", signature_templates + "{id}/versions/", service_pk=s, id=signature_template,
         expect=200)
    job = walk("post", signature_templates + "{id}/activate/", {"addresses": [a]}, service_pk=s,
               id=signature_template, expect=202)["id"]
    from signatures.services import job_run

    job_run(job)
    assert walk("get", v1 + "/signature-jobs/{id}/", id=job, expect=200)["progress"] == 100
    walk("post", signature_templates + "{id}/create-signatures/", {}, service_pk=s,
         id=signature_template, expect=202)
    walk("post", signature_templates + "{id}/regenerate/", {}, service_pk=s,
         id=signature_template, expect=202)
    walk("get", signature_templates + "{id}/report/", service_pk=s, id=signature_template,
         expect=200)
    walk("get", signature_templates + "{id}/report/csv/", service_pk=s, id=signature_template,
         expect=200)
    copy_id = walk("post", signature_templates + "{id}/duplicate/", {}, service_pk=s,
                   id=signature_template, expect=201)["id"]
    walk("delete", signature_templates + "{id}/", service_pk=s, id=copy_id, expect=204)
    signatures_url = v1 + "/addresses/{address_pk}/signatures/"
    mine = walk("get", signatures_url, address_pk=a, expect=200)["results"][0]["id"]
    walk("get", signatures_url + "{id}/", address_pk=a, id=mine, expect=200)
    walk("put", signatures_url + "{id}/", {"values": {"department": "Sales"}}, address_pk=a,
         id=mine, expect=200)
    walk("patch", signatures_url + "{id}/", {"values": {"logo": "x"}}, address_pk=a, id=mine,
         expect=400)
    walk("get", signatures_url + "settings/", address_pk=a, expect=200)
    walk("put", signatures_url + "settings/", {"stamping": False, "on_replies": True},
         address_pk=a, expect=200)

    # Addresses and what hangs from them.
    walk("get", v1 + "/addresses/", expect=200)
    bob = walk("post", v1 + "/addresses/", {"mail_service": s, "local_part": "bob"}, expect=201)["id"]
    walk("post", v1 + "/addresses/", {"mail_service": s, "local_part": "bob"})
    walk("get", v1 + "/addresses/{id}/", id=a, expect=200)
    walk("put", v1 + "/addresses/{id}/", {"mail_service": s, "local_part": "bob",
                                          "display_name": "Bob"}, id=bob, expect=200)
    walk("patch", v1 + "/addresses/{id}/", {"quota_mb": 10**12}, id=bob, expect=400)
    walk("patch", v1 + "/addresses/{id}/", {"display_name": "Robert"}, id=bob, expect=200)
    job = walk("post", v1 + "/addresses/import/", {"mail_service": s, "dry_run": "true", "file": upload(
        "a.csv", b"local_part,display_name\ncarol,Carol\n", "text/csv")}, multipart=True,
        expect=202)["id"]
    walk("post", v1 + "/addresses/import/", {"mail_service": s, "file": upload(
        "a.csv", "local_part\nzoé\n".encode("latin-1"), "text/csv")}, multipart=True, expect=400)
    from mailservice.services import bulk

    bulk.import_run(job)
    assert walk("get", v1 + "/jobs/{id}/", id=job, expect=200)["state"] == "done"
    walk("get", v1 + "/addresses/export/?mail_service=" + str(s), expect=200)
    walk("get", v1 + "/addresses/export/", expect=400)
    child = v1 + "/addresses/{address_pk}/"
    for kind, body in (("aliases", {"local_part": "alice.l"}),
                       ("redirections", {"target": "alice@personal.example"})):
        walk("get", child + kind + "/", address_pk=a, expect=200)
        made = walk("post", child + kind + "/", body, address_pk=a, expect=201)["id"]
        walk("get", child + kind + "/{id}/", address_pk=a, id=made, expect=200)
        walk("delete", child + kind + "/{id}/", address_pk=a, id=made, expect=204)
    walk("get", child + "client-config/", address_pk=a, expect=200)
    walk("get", child + "client-config/mobileconfig/", address_pk=a, expect=200)
    walk("get", child + "device-passwords/", address_pk=a, expect=200)
    device = walk("post", child + "device-passwords/", {"name": "laptop"}, address_pk=a,
                  expect=201)["id"]
    walk("get", child + "device-passwords/{id}/", address_pk=a, id=device, expect=200)
    walk("delete", child + "device-passwords/{id}/", address_pk=a, id=device, expect=204)
    walk("post", child + "device-passwords/revoke-unused/", {}, address_pk=a, expect=200)
    # No backend in this test: the folders answer the documented "backend unavailable".
    walk("get", child + "folders/", address_pk=a, expect=422)
    walk("post", child + "folders/", {"name": "Projects"}, address_pk=a, expect=422)
    walk("post", child + "folders/", {"name": "a//b"}, address_pk=a, expect=400)
    # The delivery log: one event for the address, one of the service only (no address).
    from mailservice.models import DeliveryEvent

    for recipient, address in (("alice@domain.xyz", alice), ("ghost@domain.xyz", None)):
        DeliveryEvent.objects.create(mail_service=premium, address=address, host="default",
                                     time="2026-11-20T09:00:00Z", status="delivered",
                                     recipient=recipient, size=None)
    walk("get", child + "delivery-log/", address_pk=a, expect=200)
    walk("get", child + "delivery-log/?status=lost", address_pk=a, expect=400)
    walk("get", v1 + "/mail-services/{service_pk}/delivery-log/", service_pk=s, expect=200)
    walk("get", child + "invitations/", address_pk=a, expect=200)
    sent = walk("post", child + "invitations/", {"email": "nora@personal.example",
                                                  "permissions": ["read"]}, address_pk=a,
                expect=201)["id"]
    walk("get", child + "invitations/{id}/", address_pk=a, id=sent, expect=200)
    walk("post", child + "invitations/{id}/resend/", {}, address_pk=a, id=sent, expect=200)
    walk("delete", child + "invitations/{id}/", address_pk=a, id=sent, expect=204)
    walk("post", v1 + "/invitations/{token}/accept/", {}, token="not-a-token")

    # Sorting rules, the tester, advanced mode.
    rules = child + "rules/"
    walk("get", rules, address_pk=a, expect=200)
    body = {"name": "offers", "conditions": [{"field": "subject", "operator": "contains",
                                              "value": "offers"}],
            "actions": [{"kind": "move", "argument": "Offers"}]}
    rule = walk("post", rules, body, address_pk=a, expect=201)["id"]
    walk("post", rules, {**body, "conditions": [{"field": "subject"}]}, address_pk=a, expect=400)
    walk("get", rules + "{id}/", address_pk=a, id=rule, expect=200)
    walk("put", rules + "{id}/", {**body, "name": "Offers"}, address_pk=a, id=rule, expect=200)
    walk("patch", rules + "{id}/", {"enabled": True}, address_pk=a, id=rule, expect=200)
    copy = walk("post", rules + "{id}/duplicate/", {}, address_pk=a, id=rule, expect=201)["id"]
    order = [r["id"] for r in walk("get", rules, address_pk=a)["results"]][::-1]
    walk("post", rules + "reorder/", {"order": order}, address_pk=a, expect=200)
    walk("get", rules + "lint/", address_pk=a, expect=200)
    walk("post", rules + "from-message/", {"message": upload("m.eml", MESSAGE)}, multipart=True,
         address_pk=a, expect=200)
    walk("post", rules + "test/", {"message": upload("m.eml", MESSAGE)}, multipart=True,
         address_pk=a, expect=200)
    walk("delete", rules + "{id}/", address_pk=a, id=copy, expect=204)
    sieve = child + "sieve/"
    walk("get", sieve, address_pk=a, expect=200)
    walk("put", sieve, {"mode": "advanced", "script": SCRIPT}, address_pk=a, expect=200)
    walk("put", sieve, {"mode": "advanced", "script": "if {"}, address_pk=a, expect=400)
    walk("post", rules + "test/", {"message": upload("m.eml", MESSAGE)}, multipart=True,
         address_pk=a, expect=200)
    walk("get", sieve + "download/", address_pk=a, expect=200)
    walk("post", sieve + "import/", {"file": upload("f.sieve", SCRIPT.encode(), "text/plain")},
         multipart=True, address_pk=a, expect=200)

    # Users of an address.
    users = child + "users/"
    walk("get", users, address_pk=a, expect=200)
    access = walk("post", users, {"user_id": member.pk, "permissions": ["read"]}, address_pk=a,
                  expect=201)["id"]
    walk("post", users, {"user_id": member.pk, "permissions": ["no-such-permission"]},
         address_pk=a, expect=400)
    walk("get", users + "{id}/", address_pk=a, id=access, expect=200)
    walk("put", users + "{id}/", {"permissions": ["read", "send"]}, address_pk=a, id=access,
         expect=200)
    walk("patch", users + "{id}/", {"permissions": ["read"]}, address_pk=a, id=access, expect=200)
    walk("post", users + "{id}/disconnect/", {}, address_pk=a, id=access, expect=200)
    walk("delete", users + "{id}/", address_pk=a, id=access, expect=204)

    # Domains, their records and zone files.
    from tests.dnszones.tiny_dns import TinyDns

    dns_server = TinyDns("@ 300 SOA ns. h. 1 2 3 4 5\nwww 300 A 192.0.2.1\n", "zone.example.")
    settings.DNS_RESOLVER = dns_server.address
    walk("get", v1 + "/mail-services/{id}/dns-records/?check=1", id=s, expect=200)
    walk("get", v1 + "/domains/", expect=200)
    d = walk("post", v1 + "/domains/", {"organisation": o, "name": "zone.example"}, expect=201)["id"]
    walk("post", v1 + "/domains/", {"organisation": o, "name": "xn--zz.example"}, expect=400)
    walk("get", v1 + "/domains/{id}/", id=d, expect=200)
    walk("put", v1 + "/domains/{id}/", {"organisation": o, "name": "zone.example",
                                         "uses_our_dns": False}, id=d, expect=200)
    walk("patch", v1 + "/domains/{id}/", {"default_ttl": 1800}, id=d, expect=200)
    walk("get", v1 + "/domains/{id}/sync/", id=d, expect=200)
    walk("post", v1 + "/domains/{id}/sync/", {}, id=d, expect=202)
    records = v1 + "/domains/{domain_pk}/records/"
    walk("get", records, domain_pk=d, expect=200)
    record = walk("post", records, {"name": "www", "type": "A", "value": "192.0.2.1"},
                  domain_pk=d, expect=201)["id"]
    walk("post", records, {"type": "MX", "value": "10 "}, domain_pk=d, expect=400)
    walk("get", records + "{id}/", domain_pk=d, id=record, expect=200)
    walk("put", records + "{id}/", {"name": "www", "type": "A", "ttl": 300, "value": "192.0.2.1"},
         domain_pk=d, id=record, expect=200)
    walk("patch", records + "{id}/", {"ttl": 600}, domain_pk=d, id=record, expect=200)
    assert walk("get", v1 + "/domains/{id}/check/", id=d, expect=200)[0]["present"] is True
    walk("post", records, {"type": "TXT", "value": "v=spf1 ip4:192.0.2.1 -all"}, domain_pk=d,
         expect=201)
    spf = v1 + "/domains/{id}/spf/"
    assert walk("get", spf, id=d, expect=200)["records_found"] == 0  # not served by dns_server
    walk("post", spf, {"action": "qualifier", "qualifier": "~all", "dry_run": True}, id=d,
         expect=200)
    walk("post", spf, {"action": "flatten"}, id=d, expect=400)  # within the limit
    security = v1 + "/domains/{id}/security-check/"
    assert walk("get", security, id=d, expect=200)["worst"] == "error"  # no MX, no SPF there
    walk("post", security, {}, id=d, expect=200)
    walk("post", security + "fix/", {"code": "mx_missing"}, id=d, expect=409)  # served elsewhere
    dns_server.close()
    zone_file = v1 + "/domains/{id}/zone-file/"
    walk("get", zone_file, id=d, expect=200)
    walk("post", zone_file + "?dry_run=1", {"zone_file": "mail A 192.0.2.2\n"}, id=d, expect=200)
    walk("put", zone_file, {"zone_file": "mail A 192.0.2.2\n"}, id=d, expect=200)
    walk("put", zone_file, {"zone_file": "mail A 999.1.1.1\n"}, id=d, expect=400)
    record = walk("get", records, domain_pk=d)["results"][0]["id"]
    walk("delete", records + "{id}/", domain_pk=d, id=record, expect=204)
    walk("delete", v1 + "/domains/{id}/", id=premium.domain_ref_id, expect=409)
    synonyms = v1 + "/domains/{domain_pk}/synonyms/"
    main = walk("post", v1 + "/domains/", {"organisation": o, "name": "main.example"}, expect=201)["id"]
    syn = walk("post", v1 + "/domains/", {"organisation": o, "name": "syn.example"}, expect=201)["id"]
    walk("post", synonyms, {"domain": "syn.example"}, domain_pk=main, expect=201)
    walk("post", synonyms, {"domain": "nowhere.example"}, domain_pk=main, expect=400)
    assert walk("get", synonyms, domain_pk=main, expect=200)["results"][0]["id"] == syn
    walk("delete", synonyms + "{id}/", domain_pk=main, id=syn, expect=204)
    walk("delete", v1 + "/domains/{id}/", id=syn, expect=204)
    walk("delete", v1 + "/domains/{id}/", id=main, expect=204)
    walk("delete", v1 + "/domains/{id}/", id=d, expect=204)

    # Bans affecting the organisation, and lifting one.
    from manager.security import services as bans

    settings.BANS = {**settings.BANS, "account_failures": 1}
    ban = bans.record_failure("192.0.2.66", "alice@domain.xyz", protocol="imap")
    listed = walk("get", v1 + "/organisations/{organisation_pk}/bans/", organisation_pk=o, expect=200)
    assert [b["id"] for b in listed["results"]] == [ban.pk]
    walk("post", v1 + "/organisations/{organisation_pk}/bans/{id}/lift/", {}, organisation_pk=o,
         id=ban.pk, expect=200)
    walk("post", v1 + "/organisations/{organisation_pk}/bans/{id}/lift/", {}, organisation_pk=o,
         id=ban.pk, expect=404)

    allowed = v1 + "/organisations/{organisation_pk}/allowed-networks/"
    warning = walk("get", allowed + "warning/", organisation_pk=o, expect=200)
    walk("post", allowed, {"network": "192.0.2.0/24", "accepted_warning_version": 0},
         organisation_pk=o, expect=400)
    net = walk("post", allowed, {"network": "192.0.2.0/24",
                                 "accepted_warning_version": warning["version"]},
               organisation_pk=o, expect=201)["id"]
    walk("get", allowed, organisation_pk=o, expect=200)
    walk("get", allowed + "{id}/", organisation_pk=o, id=net, expect=200)
    walk("delete", allowed + "{id}/", organisation_pk=o, id=net, expect=204)

    # Tokens, tools, the audit log; then the deletions.
    walk("get", v1 + "/tokens/", expect=200)
    token_id = walk("post", v1 + "/tokens/", {"name": "ci"}, expect=201)["id"]
    walk("get", v1 + "/tokens/{id}/", id=token_id, expect=200)
    walk("delete", v1 + "/tokens/{id}/", id=token_id, expect=204)
    walk("post", v1 + "/tools/connectivity-check/", {"mail_service": s}, expect=200)
    walk("post", v1 + "/tools/header-analysis/", {"headers": MESSAGE.decode(), "time_zone": "Europe/Paris"},
         expect=200)
    walk("post", v1 + "/tools/header-analysis/", {"message": upload("m.eml", MESSAGE)}, multipart=True,
         expect=200)
    walk("post", v1 + "/tools/header-analysis/", {"message": upload("m.png", b"\x89PNG", "image/png")},
         multipart=True, expect=400)
    reported = walk("post", v1 + "/tools/phishing-reports/", {"message": upload("m.eml", MESSAGE)},
                    multipart=True, expect=201)["id"]
    walk("post", v1 + "/tools/phishing-reports/", {"headers": ""}, expect=400)
    walk("get", v1 + "/tools/phishing-reports/", expect=200)
    walk("get", v1 + "/tools/phishing-reports/{id}/", id=reported, expect=200)
    walk("post", v1 + "/tools/phishing-reports/{id}/resend/", id=reported, expect=409)  # not failed
    PhishingReport.objects.filter(pk=reported).update(state="failed", error="relay down")
    walk("post", v1 + "/tools/phishing-reports/{id}/resend/", id=reported, expect=202)
    entries = walk("get", v1 + "/audit-log/", expect=200)["results"]
    walk("get", v1 + "/audit-log/{id}/", id=entries[0]["id"], expect=200)
    walk("delete", v1 + "/addresses/{id}/", id=bob, expect=204)
    walk("delete", v1 + "/mail-services/{id}/", id=extra, expect=204)
    assert walk("get", v1 + "/addresses/removed/", expect=200)["count"] == 1
    assert walk("get", v1 + "/mail-services/removed/", expect=200)["count"] == 1
    walk("post", v1 + "/addresses/{id}/restore/", id=bob, expect=200)
    walk("post", v1 + "/mail-services/{id}/restore/", id=extra, expect=200)
    walk("delete", v1 + "/mail-services/{id}/", id=extra, expect=204)
    walk("delete", v1 + "/organisations/{id}/", id=spare, expect=204)

    assert operations(schema) - walk.called == set()


def test_the_failures_of_every_operation_are_in_the_schema(api, owner, outsider, premium, alice,
                                                          schema):
    """Without credentials every operation is a 401; as a member of another organisation,
    every operation on this organisation's objects is a 404 — each documented, in the shape."""
    from manager.accounts.models import ApiToken

    anonymous, stranger, _ = api(None), api(outsider), api(owner)
    owners_token = ApiToken.objects.filter(user=owner).latest("pk").pk
    ids = {"id": alice.pk, "address_pk": alice.pk, "service_pk": premium.pk,
           "organisation_pk": premium.organisation_id, "token": "x" * 43,
           "domain_pk": premium.domain_ref_id}
    for method, path in sorted(operations(schema)):
        url = re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)
        if path.startswith("/api/v1/organisations/{id}"):
            url = url.replace(f"/{alice.pk}/", f"/{premium.organisation_id}/", 1)
        if path.startswith("/api/v1/domains/{id}"):
            url = url.replace(f"/{alice.pk}/", f"/{premium.domain_ref_id}/", 1)
        if path.startswith("/api/v1/tokens/{id}"):
            url = url.replace(f"/{alice.pk}/", f"/{owners_token}/", 1)
        response = getattr(anonymous, method)(url)
        assert response.status_code == 401, (method, url, response.status_code)
        check(schema, method, path, response)
        if "{" in path and "{token}" not in path:
            response = getattr(stranger, method)(url, {}, format="json")
            assert response.status_code == 404, (method, url, response.status_code)
            check(schema, method, path, response)

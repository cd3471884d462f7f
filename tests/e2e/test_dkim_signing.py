"""DKIM and the mail service's DNS records against the real daemons: a mail service created
through the API on a domain we serve has its MX, SPF, DMARC, SRV, client-setup and DKIM
records served by the private Knot; a message alice submits through the real Postfix with
SMTP AUTH is signed by OpenDKIM and dkimpy verifies it against the key Knot serves; the
domain was added while OpenDKIM ran (the adapter's tables and SIGUSR1, no restart), and a
key rotation switches the signature to the new selector, still verified through Knot.
Removing the service withdraws its records and keeps the owner's. Pushes go through the
outbox as in production, run in this process. Waits are on conditions with deadlines."""
from __future__ import annotations

import email
import json
import smtplib
import uuid
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import dkim
import dns.message
import dns.query
import dns.rcode
import dns.resolver
import pytest
from django.utils import timezone

from dnszones import push as dns_push
from mailservice import push as mail_push
from mailservice import services
from mailservice.models import DkimKey, MailService, Permission
from manager.core import outbox
from manager.core.models import PushJob
from tests.e2e.stack_logs import mailbox_fetch, maildir_copy, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


@pytest.fixture
def stacks(mail_stack, knot, tmp_path, settings, monkeypatch):
    dns_config = tmp_path / "dns.json"
    dns_config.write_text(json.dumps(knot.to_json()))
    settings.DNS_BACKEND_CONFIG = str(dns_config)
    settings.DNS_NAMESERVERS = ["ns1.example.net.", "ns2.example.net."]
    settings.MAIL_BACKEND_CONFIG = str(mail_stack.root / "stack.json")
    settings.MAIL_MX_HOSTS = {"default": "mx1.example.net"}
    settings.MAIL_IMAP_HOST, settings.MAIL_SMTP_HOST = "imap.example.net", "smtp.example.net"
    dns_push.forget_hosts()
    mail_push.forget_hosts()
    monkeypatch.setattr(outbox, "send", lambda job, countdown=None: None)  # run below
    yield mail_stack, knot
    dns_push.forget_hosts()
    mail_push.forget_hosts()


def run_pushes():
    """Every push job waiting (zones and mail services), as a worker would run them."""
    for job in PushJob.objects.exclude(state=PushJob.State.DONE):
        assert outbox.run(job.pk) == "done", PushJob.objects.get(pk=job.pk).last_error


def answer(knot, name, rtype) -> set[str]:
    query = dns.message.make_query(name, rtype)
    response = dns.query.tcp(query, knot.host, port=knot.port, timeout=5)
    return {rd.to_text() for rrset in response.answer for rd in rrset}


def knot_dnsfunc(knot):
    """dkimpy's key lookup, asked of the private Knot."""
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port = [knot.host], knot.port

    def dnsfunc(name, timeout=5):
        try:
            found = resolver.resolve(name.decode().rstrip("."), "TXT", lifetime=timeout)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        return b"".join(b"".join(rdata.strings) for rdata in found)
    return dnsfunc


class Mailboxes:
    """alice sends through submission with her device password; bob's Maildir receives."""

    def __init__(self, stack, owner, service):
        self.stack, self.domain = stack, service.domain
        alice = services.address_create(actor=owner, service=service, local_part="alice")
        services.address_create(actor=owner, service=service, local_part="bob")
        services.access_grant(actor=owner, address=alice, user=owner,
                              permissions=[Permission.READ, Permission.SEND])
        _device, self.password = services.device_password_create(actor=owner, address=alice,
                                                                 name="laptop")

    def _delivered(self, message_id: str) -> bytes | None:
        return maildir_copy(self.stack, self.domain, "bob", message_id)

    def submit(self, subject: str, *, selector: str) -> bytes:
        """Send until a copy signed with `selector` arrives, and return it as delivered.
        Postfix serves the domain once its push returned (tests/e2e/__init__.py), so each
        message is accepted and delivered; OpenDKIM reads its new tables in its signal
        thread a moment after SIGUSR1 and says so nowhere but syslog: the first copies may
        still carry the previous signature (or none)."""
        def sent_and_delivered():
            message = EmailMessage()
            message["From"], message["To"] = f"alice@{self.domain}", f"bob@{self.domain}"
            message["Subject"] = subject
            message["Message-ID"] = message_id = f"<{uuid.uuid4().hex}@{self.domain}>"
            message.set_content("Signed, I hope.\n")
            with smtplib.SMTP(self.stack.host, self.stack.submission_port, timeout=30) as smtp:
                smtp.login(f"alice@{self.domain}", self.password)
                smtp.send_message(message)
            raw = wait_for(lambda: self._delivered(message_id), f"delivery of {message_id}")
            signed = email.message_from_bytes(raw)["DKIM-Signature"] or ""
            return raw if f"s={selector};" in "".join(signed.split()) else None
        return wait_for(sent_and_delivered,
                        f"a message to bob@{self.domain} signed by {selector}", deadline=90)


def signature_of(raw: bytes) -> dict[str, str]:
    header = email.message_from_bytes(raw)["DKIM-Signature"]
    assert header, "the message is not DKIM-signed"
    return {k.strip(): v.strip() for k, _, v in (tag.partition("=") for tag in
                                                  "".join(header.split()).split(";") if tag)}


def test_dkim_records_are_served_and_submitted_mail_verifies_against_knot(api, owner,
                                                                        organisation, stacks):
    mail_stack, knot = stacks
    client = api(owner)
    name = "dkim-e2e.test"
    opendkim_pid = mail_stack.opendkim_pid
    created = client.post("/api/v1/domains/", {"organisation": organisation.pk, "name": name,
                                               "uses_our_dns": True}, format="json")
    assert created.status_code == 201, created.content
    response = client.post("/api/v1/mail-services/", {"organisation": organisation.pk,
                                                      "domain": name, "plan": "premium"},
                           format="json")
    assert response.status_code == 201, response.content
    service = MailService.objects.get(pk=response.json()["id"])
    mailboxes = Mailboxes(mail_stack, owner, service)
    run_pushes()

    key = service.dkim_keys.get()
    assert answer(knot, f"{name}.", "MX") == {"10 mx1.example.net."}
    assert answer(knot, f"{name}.", "TXT") == {'"v=spf1 include:_spf.example.net -all"'}
    assert answer(knot, f"_dmarc.{name}.", "TXT") == {
        '"v=DMARC1; p=none; rua=mailto:dmarc-reports@example.net"'}
    assert answer(knot, f"_imaps._tcp.{name}.", "SRV") == {"0 1 993 imap.example.net."}
    assert answer(knot, f"_submission._tcp.{name}.", "SRV") == {"0 1 587 smtp.example.net."}
    assert answer(knot, f"_pop3._tcp.{name}.", "SRV") == {"0 0 0 ."}
    assert answer(knot, f"autoconfig.{name}.", "CNAME") == {"setup.example.net."}
    served_key = knot_dnsfunc(knot)(f"{key.selector}._domainkey.{name}.".encode())
    assert served_key == f"v=DKIM1; k=rsa; p={key.public_key}".encode()
    listed = client.get(f"/api/v1/mail-services/{service.pk}/dns-records/").json()
    assert {r["status"] for r in listed["records"]} == {"installed"}

    raw = mailboxes.submit("First signed message", selector=key.selector)
    tags = signature_of(raw)
    assert (tags["d"], tags["s"]) == (name, key.selector)
    verifier = dkim.DKIM(raw)
    assert verifier.verify(dnsfunc=knot_dnsfunc(knot)), "the signature does not verify"
    assert verifier.domain == name.encode()
    # The domain was added while OpenDKIM ran: its tables were reloaded, not the process.
    assert mail_stack.opendkim_pid == opendkim_pid and mail_stack._opendkim.poll() is None

    # A rotation: the new selector is published, then signs once served and past its TTL.
    rotated = client.post(f"/api/v1/mail-services/{service.pk}/dkim/rotate/")
    assert rotated.status_code == 201, rotated.content
    new = DkimKey.objects.get(selector=rotated.json()["selector"])
    run_pushes()
    assert knot_dnsfunc(knot)(f"{new.selector}._domainkey.{name}.".encode()) == (
        f"v=DKIM1; k=rsa; p={new.public_key}".encode())
    now = timezone.now()
    assert services.dkim_advance(now=now) == [f"dkim.selector_published {new.selector}"]
    later = now + timedelta(seconds=service.domain_ref.default_ttl)
    assert services.dkim_advance(now=later) == [f"dkim.switched {new.selector}"]
    run_pushes()
    raw = mailboxes.submit("Signed with the new key", selector=new.selector)
    assert signature_of(raw)["s"] == new.selector
    assert dkim.DKIM(raw).verify(dnsfunc=knot_dnsfunc(knot))
    # The retired key's record is still served for mail signed before the switch.
    assert knot_dnsfunc(knot)(f"{key.selector}._domainkey.{name}.".encode()) is not None
    assert mail_stack.opendkim_pid == opendkim_pid

    # Removing the service: the signer forgets the domain.
    assert client.delete(f"/api/v1/mail-services/{service.pk}/").status_code == 204
    run_pushes()
    signing_table = (Path(mail_stack.config.dkim_dir) / "SigningTable").read_text()
    assert f"*@{name} " not in signing_table
    assert not list(Path(mail_stack.config.dkim_keys_dir).glob(f"{name}.*"))


def test_dns_removing_the_mail_service_removes_its_records_and_keeps_the_owners(api, owner,
                                                                              organisation,
                                                                              stacks):
    _mail_stack, knot = stacks
    client = api(owner)
    name = "dns-removal-e2e.test"
    domain = client.post("/api/v1/domains/", {"organisation": organisation.pk, "name": name},
                         format="json").json()["id"]
    records = f"/api/v1/domains/{domain}/records/"
    assert client.post(records, {"name": "www", "type": "A", "value": "192.0.2.44"},
                       format="json").status_code == 201
    service = client.post("/api/v1/mail-services/", {"organisation": organisation.pk,
                                                     "domain": name, "plan": "premium"},
                          format="json").json()["id"]
    run_pushes()
    assert answer(knot, f"{name}.", "MX") == {"10 mx1.example.net."}
    # The owner takes the DMARC policy over: edited, it is theirs.
    dmarc = next(r for r in client.get(records).json()["results"] if r["name"] == "_dmarc")
    assert client.patch(f"{records}{dmarc['id']}/", {
        "value": "v=DMARC1; p=reject; rua=mailto:dmarc@example.net"},
        format="json").status_code == 200

    assert client.delete(f"/api/v1/mail-services/{service}/").status_code == 204
    run_pushes()
    assert answer(knot, f"{name}.", "MX") == set()
    assert answer(knot, f"autoconfig.{name}.", "CNAME") == set()
    assert answer(knot, f"_submission._tcp.{name}.", "SRV") == set()
    assert answer(knot, f"www.{name}.", "A") == {"192.0.2.44"}
    assert answer(knot, f"_dmarc.{name}.", "TXT") == {
        '"v=DMARC1; p=reject; rua=mailto:dmarc@example.net"'}
    left = {(r["name"], r["type"]) for r in client.get(records).json()["results"]}
    assert left == {("www", "A"), ("_dmarc", "TXT")}
    assert dns_push.reconcile() == {}


def test_an_auto_reply_leaves_signed_by_the_addresss_domain(api, owner, organisation, stacks):
    """Dovecot sends a Sieve auto-reply through Postfix's reinjection port, where the DKIM
    signer runs: the reply, From the address, verifies against the key Knot serves (an
    unsigned reply would fail DMARC at the sender's server)."""
    mail_stack, knot = stacks
    client = api(owner)
    name = "dkim-vacation.test"
    assert client.post("/api/v1/domains/", {"organisation": organisation.pk, "name": name,
                                            "uses_our_dns": True}, format="json").status_code == 201
    response = client.post("/api/v1/mail-services/", {"organisation": organisation.pk,
                                                      "domain": name, "plan": "premium"},
                           format="json")
    service = MailService.objects.get(pk=response.json()["id"])
    mailboxes = Mailboxes(mail_stack, owner, service)
    bob = service.addresses.get(local_part="bob")
    services.address_update(actor=owner, address=bob, autoreply_enabled=True,
                            autoreply_subject="Away", autoreply_body="Back on Monday.")
    run_pushes()
    key = service.dkim_keys.get()
    # Once alice's own mail is signed, OpenDKIM has read the domain's key (SIGUSR1).
    mailboxes.submit("Are you there?", selector=key.selector)
    backend = mail_stack.backend()

    def the_reply():
        rows = mailbox_fetch(backend, f"alice@{name}", "text", "header", "Subject", "Away")
        return rows[0]["text"].encode() if rows else None
    raw = wait_for(the_reply, "bob's auto-reply in alice's mailbox")
    assert email.message_from_bytes(raw)["Auto-Submitted"].startswith("auto-replied")
    tags = signature_of(raw)
    assert (tags["d"], tags["s"]) == (name, key.selector)
    assert dkim.DKIM(raw).verify(dnsfunc=knot_dnsfunc(knot)), "the reply's signature does not verify"

"""A synonym domain against the real daemons: added through the API, its zone served by the
private Knot answers the main domain's MX and A, and Postfix delivers its mail into the main
domain's mailboxes (an address, an alias, the catchall); once dissociated, its zone is SOA
and NS only and its mail is refused at RCPT. Pushes go through the outbox as in production,
each job run in this process (the worker's part is tests/e2e/test_pipeline)."""
import json
from pathlib import Path

import dns.message
import dns.query
import pytest

from dnszones import push as dns_push
from dnszones import services as dns_services
from mailservice import push as mail_push
from mailservice import services
from mailservice.backends.base import drift
from mailservice.desired import desired_state
from manager.core import outbox
from manager.core.models import PushJob
from tests.e2e import rcpt_code, send_message
from tests.e2e.stack_logs import mailbox_fetch, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

MAIN, SYNONYM = "synonym-main.test", "synonym-copy.test"

def run_pushes():
    """Run every queued push (zones and mail services) as a worker would."""
    for job in PushJob.objects.filter(state=PushJob.State.PENDING).order_by("pk"):
        assert outbox.run(job.pk) == "done", PushJob.objects.get(pk=job.pk).sync_error


def answer(knot, name, rtype) -> set[str]:
    response = dns.query.tcp(dns.message.make_query(name, rtype), knot.host, port=knot.port,
                             timeout=5)
    return {rd.to_text() for rrset in response.answer for rd in rrset}


def served_names(knot, zone) -> set[tuple[str, str]]:
    state = knot.backend().actual(zone)
    return {(r.name, r.type) for r in state.rrsets}


def in_inbox(mail_stack, mailbox: str, message_id: str) -> bool:
    return bool(mailbox_fetch(mail_stack.backend(), mailbox, "hdr", "header", "Message-ID",
                              message_id, folder="INBOX"))


@pytest.fixture
def world(mail_stack, knot, tmp_path, settings, monkeypatch, owner, organisation):
    config = tmp_path / "dns.json"
    config.write_text(json.dumps(knot.to_json()))
    settings.DNS_BACKEND_CONFIG = str(config)
    settings.DNS_NAMESERVERS = ["ns1.example.net.", "ns2.example.net."]
    settings.MAIL_BACKEND_CONFIG = str(Path(mail_stack.root) / "stack.json")
    dns_push.forget_hosts()
    mail_push.forget_hosts()
    monkeypatch.setattr(outbox, "send", lambda job, countdown=None: None)  # run_pushes()
    service = services.mail_service_create(actor=owner, organisation=organisation, domain=MAIN,
                                           plan="premium")
    main = service.domain_ref
    dns_services.domain_update(actor=owner, domain=main, uses_our_dns=True)
    alice = services.address_create(actor=owner, service=service, local_part="alice")
    services.alias_create(actor=owner, address=alice, local_part="sales")
    services.address_create(actor=owner, service=service, local_part="catchall")
    for name, rtype, value in (("@", "MX", f"10 mx1.{MAIN}."), ("@", "A", "192.0.2.10"),
                               ("mx1", "A", "192.0.2.25"), ("mail._domainkey", "TXT", "v=DKIM1; p=AB")):
        dns_services.record_create(actor=owner, domain=main, name=name, type=rtype, value=value)
    synonym = dns_services.domain_create(actor=owner, organisation=organisation, name=SYNONYM)
    run_pushes()
    yield main, synonym
    mail_stack.backend().remove_service(MAIN)
    for zone in (MAIN, SYNONYM):
        knot.backend().remove_zone(zone + ".")
    dns_push.forget_hosts()
    mail_push.forget_hosts()


def test_a_synonym_answers_the_main_zone_and_receives_its_mail_until_dissociated(
        world, api, owner, mail_stack, knot):
    main, synonym = world
    client = api(owner)
    # Not ours yet: refused. Postfix has now resolved the domain as not local, which the
    # new-domain reload of the synonym's push must undo.
    assert rcpt_code(mail_stack, f"alice@{SYNONYM}") >= 550
    response = client.post(f"/api/v1/domains/{main.pk}/synonyms/", {"domain": SYNONYM},
                           format="json")
    assert response.status_code == 201, response.content
    run_pushes()

    # What the real backend serves is the desired state: no drift for a reconcile to repair.
    service = main.mail_services.get()
    assert drift(desired_state(service), mail_stack.backend().actual(MAIN)) == []
    assert desired_state(service).synonyms == (SYNONYM,)

    # The zone: the main domain's MX and A under the synonym's name, no DKIM key, our NS.
    # (the mail service installed its own MX on the main zone too: the copy has both)
    assert f"10 mx1.{MAIN}." in answer(knot, f"{SYNONYM}.", "MX")
    assert answer(knot, f"{SYNONYM}.", "MX") == answer(knot, f"{MAIN}.", "MX")
    assert answer(knot, f"{SYNONYM}.", "A") == {"192.0.2.10"}
    assert answer(knot, f"mx1.{SYNONYM}.", "A") == {"192.0.2.25"}
    assert answer(knot, f"mail._domainkey.{SYNONYM}.", "TXT") == set()
    assert answer(knot, f"{SYNONYM}.", "NS") == {"ns1.example.net.", "ns2.example.net."}

    # A change to the main zone reaches the synonym's copy.
    dns_services.record_create(actor=owner, domain=main, name="www", type="A", value="192.0.2.80")
    run_pushes()
    assert answer(knot, f"www.{SYNONYM}.", "A") == {"192.0.2.80"}

    # Mail: an address, an alias and the catchall of the main domain, through the synonym.
    to_alice = send_message(mail_stack, f"alice@{SYNONYM}", subject="to the synonym")
    wait_for(lambda: in_inbox(mail_stack, f"alice@{MAIN}", to_alice), "alice@main to get it")
    to_sales = send_message(mail_stack, f"sales@{SYNONYM}", subject="to the alias")
    wait_for(lambda: in_inbox(mail_stack, f"alice@{MAIN}", to_sales), "the alias to reach alice")
    to_anyone = send_message(mail_stack, f"nobody@{SYNONYM}", subject="to the catchall")
    wait_for(lambda: in_inbox(mail_stack, f"catchall@{MAIN}", to_anyone), "the catchall to get it")
    # the catchall does not shadow the real mailbox: alice's mail is hers alone
    assert not in_inbox(mail_stack, f"catchall@{MAIN}", to_alice)
    assert not in_inbox(mail_stack, f"alice@{MAIN}", to_anyone)

    # Dissociated: the zone is ours by default, the mail refused at RCPT.
    response = client.delete(f"/api/v1/domains/{main.pk}/synonyms/{synonym.pk}/")
    assert response.status_code == 204, response.content
    run_pushes()
    assert served_names(knot, f"{SYNONYM}.") == {(f"{SYNONYM}.", "NS")}
    assert answer(knot, f"{SYNONYM}.", "SOA")  # still served, with our SOA
    assert answer(knot, f"{SYNONYM}.", "MX") == set()
    assert answer(knot, f"{SYNONYM}.", "A") == set()
    for recipient in (f"alice@{SYNONYM}", f"nobody@{SYNONYM}"):
        assert rcpt_code(mail_stack, recipient) >= 550, recipient
    # the main domain is untouched
    assert rcpt_code(mail_stack, f"alice@{MAIN}") == 250
    assert drift(desired_state(service), mail_stack.backend().actual(MAIN)) == []

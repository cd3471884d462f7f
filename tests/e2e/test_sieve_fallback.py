"""A Sieve script that stops delivery never stops the mail, against a real Postfix + Dovecot.

The script below passes sievec but makes Dovecot's Sieve engine panic as soon as it
compares a Subject (Pigeonhole 2.3.19: `mcht-matches.c … assertion failed`), which kills
the LMTP child: Postfix defers the message (4.4.2) and would retry it forever. The
request path refuses it (400 invalid_sieve); these tests put it into the desired state
behind that check's back, as a change the check missed would.
"""
import json

import pytest

from mailservice import push, services
from mailservice.backends import sieve_store
from mailservice.backends.base import drift
from mailservice.desired import desired_state
from mailservice.models import Address
from manager.audit.models import AuditEntry
from manager.core.errors import ServiceError
from tests.e2e import stack_logs
from tests.e2e.stack_logs import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

CRASHING = 'require "fileinto";\nif header :matches "subject" "abc\\\\" { fileinto "X"; }\n'
GOOD_ADVANCED = 'require "fileinto";\nif header :contains "subject" "report" { fileinto "Reports"; }\n'


class Mailbox(stack_logs.Mailbox):
    """alice@<domain>, pushed the way the worker pushes it."""

    def push(self):
        push.push_mail_service(self.service.domain)
        self.address.refresh_from_db()

    def store_script_unchecked(self, script):
        """What a change the request-time proof missed leaves in the database."""
        Address.objects.filter(pk=self.address.pk).update(sieve_mode="advanced",
                                                          sieve_script=script)

    def active_script(self):
        return self.backend.sieve.active([self.email])[self.email]

    def deferred(self):
        """Recipients of this mailbox waiting in Postfix's deferred queue."""
        out = self.backend.tools.run([self.backend.config.postqueue, "-c",
                                      str(self.backend.config.postfix_dir), "-j"]).stdout
        return [r["address"] for line in out.splitlines() if line.strip()
                for r in json.loads(line)["recipients"] if r["address"] == self.email]


@pytest.fixture
def mailbox(mail_stack, owner, organisation, settings, request):
    settings.MAIL_BACKEND_CONFIG = str(mail_stack.root / "stack.json")
    push.forget_hosts()
    name = request.node.name.removeprefix("test_").replace("_", "-")[:30].strip("-")
    box = Mailbox(mail_stack, owner, organisation, f"{name}.fallback.test")
    yield box
    box.remove()
    push.forget_hosts()


def file_reports(box):
    services.rule_create(actor=box.owner, address=box.address, name="Reports", conditions=[
        {"field": "subject", "operator": "contains", "value": "report"}],
        actions=[{"kind": "move", "argument": "Reports"}])


def test_the_request_path_refuses_the_crashing_script(mailbox):
    with pytest.raises(ServiceError) as refused:
        services.sieve_set(actor=mailbox.owner, address=mailbox.address, mode="advanced",
                           script=CRASHING)
    assert refused.value.code == "invalid_sieve"


def test_the_worker_does_not_activate_a_script_the_engine_cannot_run(mailbox):
    file_reports(mailbox)
    mailbox.push()
    good = mailbox.active_script()
    assert "Reports" in good and mailbox.address.sieve_sync_error == ""

    mailbox.store_script_unchecked(CRASHING)
    mailbox.push()
    assert mailbox.active_script() == good
    assert mailbox.address.sieve_failure == Address.SieveFailure.REFUSED
    assert "engine stops" in mailbox.address.sieve_failure_reason
    assert "the filters active before stay in place" in mailbox.address.sieve_sync_error
    # Held back, not drifting: the reconcile does not push it again and again.
    assert drift(desired_state(mailbox.service), mailbox.backend.actual(mailbox.service.domain)) == []

    message_id = mailbox.send("Monthly report")
    assert mailbox.find("Reports", message_id) is not None

    services.sieve_set(actor=mailbox.owner, address=mailbox.address, mode="advanced",
                       script=GOOD_ADVANCED)
    mailbox.push()
    assert mailbox.active_script() == GOOD_ADVANCED
    assert mailbox.address.sieve_failure == "" and mailbox.address.sieve_sync_error == ""


def test_a_script_that_stops_delivery_is_replaced_and_the_deferred_mail_arrives(
        mailbox, monkeypatch):
    file_reports(mailbox)
    mailbox.push()
    good = mailbox.active_script()

    # An engine difference the worker's check missed: the script goes live.
    monkeypatch.setattr(sieve_store, "engine_errors_or_none", lambda script, header: ())
    mailbox.store_script_unchecked(CRASHING)
    mailbox.push()
    monkeypatch.undo()
    assert mailbox.active_script() == CRASHING

    message_id = mailbox.send("Monthly report")
    # Dovecot's LMTP child dies on it; Postfix defers it.
    wait_for(mailbox.deferred, "Postfix to defer the message")
    assert mailbox.find("INBOX", message_id, wait=0) is None

    # Dovecot's log process may write the child's last words a moment later.
    holds = wait_for(lambda: push.check_deliveries("default"),
                     "a failed delivery in Dovecot's log")
    assert [h.email for h in holds] == [mailbox.email] and holds[0].restored
    assert "mcht-matches.c" in holds[0].reason
    assert mailbox.active_script() == good
    # The flushed queue retries at once, through the previous filters.
    assert mailbox.find("Reports", message_id) is not None

    mailbox.address.refresh_from_db()
    assert mailbox.address.sieve_failure == Address.SieveFailure.STOPPED_DELIVERY
    assert "the previous filters are active again" in mailbox.address.sieve_sync_error
    assert AuditEntry.objects.filter(verb="sieve.fell_back",
                                     object_id=str(mailbox.address.pk)).count() == 1

    # A push of the unchanged desired state does not bring the script back; the status stays.
    mailbox.push()
    assert mailbox.active_script() == good
    assert mailbox.address.sieve_failure == Address.SieveFailure.STOPPED_DELIVERY
    assert drift(desired_state(mailbox.service), mailbox.backend.actual(mailbox.service.domain)) == []
    assert push.check_deliveries("default") == []

    later = mailbox.send("Another report")
    assert mailbox.find("Reports", later) is not None

"""The whole push pipeline: the API commits a change and its outbox row, a real Celery
worker (subprocess, private Redis) pushes the service to the private Dovecot + Postfix,
and the effect is observed only through IMAP, SMTP and the adapter's drift().

Refused IMAP logins cost ~2 s each and Dovecot adds a growing penalty per client IP, so
every login that may be refused comes from its own 127.x address and negative checks
run in parallel, once per test.
"""

import imaplib
import itertools
import os
import smtplib
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage

import pytest

from mailservice.backends.base import drift
from mailservice.desired import desired_state
from mailservice.models import MailService

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

API = "/api/v1"
# Not the 127.0.x range the adapter tests use: penalties are per source address.
_source_ips = (f"127.3.{n // 250}.{n % 250 + 2}" for n in itertools.count((os.getpid() % 40) * 500))


class SourcedIMAP(imaplib.IMAP4):
    def __init__(self, host: str, port: int, source_ip: str):
        self._source_ip = source_ip
        super().__init__(host, port, timeout=30)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self._source_ip, 0))


class Scenario:
    """Drives the product through its API as the organisation's owner; observes the
    backend through IMAP/SMTP."""

    def __init__(self, client, stack, organisation):
        self.client = client
        self.stack = stack
        self.organisation = organisation
        self.domains: list[str] = []

    # API ------------------------------------------------------------------------------

    def ok(self, response, *codes):
        assert response.status_code in (codes or (200, 201, 202, 204)), response.content
        return response.json() if response.content else None

    def service(self, domain: str, capacity: int = 10) -> dict:
        self.domains.append(domain)
        return self.ok(self.client.post(f"{API}/mail-services/", {
            "organisation": self.organisation.pk, "domain": domain, "plan": "premium",
            "capacity": capacity}, format="json"), 201)

    def address(self, service: dict, local_part: str) -> dict:
        return self.ok(self.client.post(f"{API}/addresses/", {
            "mail_service": service["id"], "local_part": local_part}, format="json"), 201)

    def grant(self, address: dict, user, permissions=("read", "send")) -> dict:
        return self.ok(self.client.post(f"{API}/addresses/{address['id']}/users/", {
            "user_id": user.pk, "permissions": list(permissions)}, format="json"), 201)

    def device(self, address: dict, name: str, user=None) -> dict:
        payload = {"name": name, "device_type": "other"}
        if user is not None:
            payload["user_id"] = user.pk
        body = self.ok(self.client.post(f"{API}/addresses/{address['id']}/device-passwords/",
                                        payload, format="json"), 201)
        body["login"] = (address["email"], body["password"])
        return body

    def sync(self, service: dict) -> dict:
        return self.ok(self.client.get(f"{API}/mail-services/{service['id']}/sync/"), 200)

    def wait_applied(self, service: dict, timeout: float = 15.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            body = self.sync(service)
            if body["sync_status"] == "applied":
                return body
            assert body["sync_status"] != "failed", body
            if time.monotonic() > deadline:
                raise AssertionError(f"not applied after {timeout}s: {body}")
            time.sleep(0.1)

    # backend observations ------------------------------------------------------------

    def login(self, credentials, source_ip: str = "127.0.0.1") -> bool:
        try:
            SourcedIMAP(self.stack.host, self.stack.imap_port, source_ip).login(*credentials)
        except imaplib.IMAP4.error:
            return False
        return True

    def refused(self, *credentials) -> list[bool]:
        """Each login tried once from its own address, all at once: True if refused."""
        with ThreadPoolExecutor(max_workers=len(credentials)) as pool:
            return list(pool.map(lambda c: not self.login(c, next(_source_ips)), credentials))

    def send(self, *recipients: str, subject: str) -> str:
        msg = EmailMessage()
        msg["From"] = "sender@outside.test"
        msg["To"] = ", ".join(recipients)
        msg["Subject"] = subject
        msg["Message-ID"] = message_id = f"<{uuid.uuid4().hex}@outside.test>"
        msg.set_content("hello\n")
        with smtplib.SMTP(self.stack.host, self.stack.smtp_port, timeout=30) as smtp:
            smtp.send_message(msg, from_addr="sender@outside.test", to_addrs=list(recipients))
        return message_id

    def rcpt(self, recipient: str) -> int:
        with smtplib.SMTP(self.stack.host, self.stack.smtp_port, timeout=30) as smtp:
            smtp.ehlo()
            smtp.mail("sender@outside.test")
            code, _ = smtp.rcpt(recipient)
            return code

    def has_message(self, credentials, message_id: str, wait: float = 10.0) -> bool:
        deadline = time.monotonic() + wait
        client = SourcedIMAP(self.stack.host, self.stack.imap_port, "127.0.0.1")
        client.login(*credentials)
        try:
            while True:
                client.select("INBOX", readonly=True)
                _, data = client.search(None, "HEADER", "Message-ID", message_id)
                if data[0].split():
                    return True
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.1)
        finally:
            client.logout()

    def drift(self, domain: str) -> list[str]:
        service = MailService.objects.get(domain=domain)
        return drift(desired_state(service), self.stack.backend().actual(domain))


@pytest.fixture
def scenario(pipeline, mail_stack, owner, organisation, api):
    s = Scenario(api(owner), mail_stack, organisation)
    yield s
    backend = mail_stack.backend()
    for domain in s.domains:
        backend.remove_service(domain)


def requeue_until_applied(scenario, service, timeout=40.0):
    """What the worker's beat does every 30 s, sent every second instead."""
    from manager.core.tasks import requeue_stuck_pushes

    deadline = time.monotonic() + timeout
    while True:
        requeue_stuck_pushes.delay()
        status = scenario.sync(service)["sync_status"]
        if status == "applied":
            return
        assert status != "failed"
        assert time.monotonic() < deadline, f"not applied after {timeout}s"
        time.sleep(1)


# --- tests ---------------------------------------------------------------------------------


def test_device_password_created_through_the_api_logs_in_within_seconds(scenario, owner):
    service = scenario.service("login.pipeline.test")
    alice = scenario.address(service, "alice")
    scenario.grant(alice, owner)
    started = time.monotonic()
    laptop = scenario.device(alice, "Laptop")

    deadline = started + 15
    while not scenario.login(laptop["login"], next(_source_ips)):
        assert time.monotonic() < deadline, "device password never worked"
    elapsed = time.monotonic() - started
    assert elapsed < 15
    assert scenario.wait_applied(service)["last_applied"]
    assert scenario.drift(service["domain"]) == []

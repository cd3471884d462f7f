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
import socket
import sqlite3
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from mailservice.backends.base import drift
from mailservice.desired import desired_state
from mailservice.models import MailService
from manager.core.models import PushJob
from tests.e2e import rcpt_code, send_message

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
        return send_message(self.stack, *recipients, subject=subject)

    def rcpt(self, recipient: str) -> int:
        return rcpt_code(self.stack, recipient)

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
    if pipeline.worker.extra_env:  # a worker left paused inside apply() holds the adapter's lock
        pipeline.worker.kill()
    backend = mail_stack.backend()
    for domain in s.domains:
        backend.remove_service(domain)


def requeue_until_applied(scenario, service, timeout=40.0):
    """What beat does every PUSH_REQUEUE_SECONDS, sent every second instead."""
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


def test_revoke_remove_and_disconnect_end_logins_but_other_devices_stay(scenario, owner, member):
    service = scenario.service("access.pipeline.test")
    alice, bob = scenario.address(service, "alice"), scenario.address(service, "bob")
    scenario.grant(alice, owner)
    member_on_alice = scenario.grant(alice, member)
    owner_on_bob = scenario.grant(bob, owner)
    laptop, phone = scenario.device(alice, "Laptop"), scenario.device(alice, "Phone")
    member_a, member_b = scenario.device(alice, "M1", member), scenario.device(alice, "M2", member)
    bob_tablet = scenario.device(bob, "Tablet")
    scenario.wait_applied(service)
    for device in (laptop, phone, member_a, member_b, bob_tablet):
        assert scenario.login(device["login"]), device["name"]

    client = scenario.client
    scenario.ok(client.delete(f"{API}/addresses/{alice['id']}/device-passwords/{laptop['id']}/"), 204)
    scenario.ok(client.delete(f"{API}/addresses/{alice['id']}/users/{member_on_alice['id']}/"),
                204)  # all access
    revoked = scenario.ok(client.post(
        f"{API}/addresses/{bob['id']}/users/{owner_on_bob['id']}/disconnect/"), 200)
    assert revoked == {"revoked": 1}
    scenario.wait_applied(service)

    assert scenario.refused(laptop["login"], member_a["login"], member_b["login"],
                            bob_tablet["login"]) == [True, True, True, True]
    assert scenario.login(phone["login"])
    assert scenario.drift(service["domain"]) == []


def test_mail_routes_to_catchall_own_mailbox_alias_and_redirection_with_copy(scenario, owner):
    service = scenario.service("routing.pipeline.test")
    addresses = {name: scenario.address(service, name) for name in ("alice", "bob", "keeper", "catchall")}
    for name, address in addresses.items():
        scenario.grant(address, owner, ["read"] if name == "catchall" else ["read", "send"])
    logins = {name: scenario.device(address, name)["login"] for name, address in addresses.items()}
    scenario.ok(scenario.client.post(f"{API}/addresses/{addresses['alice']['id']}/aliases/",
                                     {"local_part": "team"}, format="json"), 201)
    scenario.ok(scenario.client.post(f"{API}/addresses/{addresses['keeper']['id']}/redirections/",
                                     {"target": addresses["alice"]["email"], "keep_copy": True},
                                     format="json"), 201)
    scenario.wait_applied(service)

    to_unknown = scenario.send("nobody@routing.pipeline.test", subject="unknown")
    to_bob = scenario.send(addresses["bob"]["email"], subject="direct")
    to_team = scenario.send("team@routing.pipeline.test", subject="alias")
    to_keeper = scenario.send(addresses["keeper"]["email"], subject="redirect with copy")

    assert scenario.has_message(logins["catchall"], to_unknown)
    assert scenario.has_message(logins["bob"], to_bob)
    assert not scenario.has_message(logins["catchall"], to_bob, wait=0)
    assert scenario.has_message(logins["alice"], to_team)
    assert scenario.has_message(logins["keeper"], to_keeper)
    assert scenario.has_message(logins["alice"], to_keeper)
    assert scenario.drift(service["domain"]) == []


def test_disabled_and_deleted_addresses_refuse_mail(scenario):
    service = scenario.service("refuse.pipeline.test")
    carol, dave = scenario.address(service, "carol"), scenario.address(service, "dave")
    scenario.wait_applied(service)
    assert scenario.rcpt(carol["email"]) == 250 and scenario.rcpt(dave["email"]) == 250

    scenario.ok(scenario.client.patch(f"{API}/addresses/{carol['id']}/", {"enabled": False},
                                      format="json"), 200)
    scenario.ok(scenario.client.delete(f"{API}/addresses/{dave['id']}/"), 204)
    scenario.wait_applied(service)
    assert scenario.rcpt(carol["email"]) == 550
    assert scenario.rcpt(dave["email"]) == 550
    assert scenario.drift(service["domain"]) == []


def test_sync_status_push_now_and_a_permanent_failure(scenario, pipeline):
    from .conftest import UNCONFIGURED_HOST

    service = scenario.service("sync.pipeline.test")
    first = scenario.wait_applied(service)
    assert first["sync_error"] == "" and first["last_applied"]

    response = scenario.client.post(f"{API}/mail-services/{service['id']}/sync/")
    assert response.status_code == 202 and response.json()["sync_status"] == "pending"
    again = scenario.wait_applied(service)
    assert again["last_applied"] > first["last_applied"]

    lost = scenario.service("lost.pipeline.test")
    scenario.wait_applied(lost)
    MailService.objects.filter(pk=lost["id"]).update(backend_host=UNCONFIGURED_HOST)
    assert scenario.client.post(f"{API}/mail-services/{lost['id']}/sync/").status_code == 202
    deadline = time.monotonic() + 15
    while (body := scenario.sync(lost))["sync_status"] != "failed":
        assert time.monotonic() < deadline, body
        time.sleep(0.1)
    assert f"No mail backend host named '{UNCONFIGURED_HOST}' is configured" in body["sync_error"]
    # The service list shows the same.
    listed = {s["domain"]: s for s in scenario.ok(scenario.client.get(f"{API}/mail-services/"))["results"]}
    assert listed["lost.pipeline.test"]["sync_status"] == "failed"
    assert listed["sync.pipeline.test"]["sync_status"] == "applied"


RECOVERY_BOUND_SECONDS = 30


@pytest.fixture(params=["redis", "filesystem"])
def crash_worker(request, pipeline):
    """The worker the crash test kills, on each broker: the pipeline's own (Redis), or one
    on the embedded filesystem transport, which this test process then publishes to."""
    if request.param == "redis":
        yield pipeline.worker
        return
    from .worker import Worker, filesystem_broker_options, repoint_celery

    var_dir = pipeline.root / f"fs-{uuid.uuid4().hex[:8]}"
    for sub in ("queue", "processed", "control"):
        (var_dir / "broker" / sub).mkdir(parents=True)
    worker = Worker(var_dir / "worker", {**pipeline.worker.env, "REDIS_URL": "",
                                         "MM_VAR_DIR": str(var_dir)})
    # The pipeline's Redis worker stays idle: nothing is published to Redis meanwhile.
    repoint_celery("filesystem://", filesystem_broker_options(var_dir))
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


def test_worker_killed_inside_a_push_is_replaced_within_30_seconds(scenario, owner, crash_worker,
                                                                   pipeline, mail_stack):
    """No help from the test: the new worker and a real beat on the production schedule
    (lease PUSH_LEASE_SECONDS, re-queue every PUSH_REQUEUE_SECONDS) must finish the dead
    worker's push. The bound counts the restart of the worker, which a deployment with a
    second worker would not wait for."""
    from .worker import Beat

    worker = crash_worker
    service = scenario.service("crash.pipeline.test", capacity=20)
    first = scenario.address(service, "first")
    scenario.grant(first, owner)
    scenario.wait_applied(service)

    # Changes made while no worker runs: their messages wait in the broker.
    worker.stop()
    created = [scenario.address(service, f"user{i}") for i in range(8)]
    for address in created:
        scenario.grant(address, owner)
    devices = [scenario.device(address, "Phone") for address in created]
    scenario.ok(scenario.client.post(f"{API}/addresses/{first['id']}/aliases/",
                                     {"local_part": "team"}, format="json"), 201)

    # A worker with the test-only pause inside apply() (tests/e2e/worker.py): it writes the
    # user database, then stops before the Postfix maps; we SIGKILL it there.
    pause = pipeline.root / f"pause-{uuid.uuid4().hex}"
    worker.start(extra_env={"MM_E2E_PAUSE_FILE": str(pause), "MM_E2E_PAUSE_SECONDS": "120"})
    deadline = time.monotonic() + 15
    while not pause.exists():
        assert time.monotonic() < deadline, worker.log_tail()
        time.sleep(0.05)
    assert PushJob.objects.get(target_id=service["domain"]).state == PushJob.State.RUNNING
    # Half-written: the user database has the new mailboxes, Postfix's tables do not yet.
    # (drift() would wait for the adapter's lock, which the paused push holds.)
    assert not any(email.startswith("user") for email, _ in
                   mail_stack.backend().maps.read_domain("crash.pipeline.test")["mailboxes"])
    with sqlite3.connect(mail_stack.config.user_db) as db:
        assert db.execute("SELECT count(*) FROM mailboxes WHERE email LIKE 'user%@crash.pipeline.test'"
                          ).fetchone()[0] == 8

    beat = Beat(worker.root / "beat", worker.env).start()
    try:
        worker.kill()
        killed = time.monotonic()
        worker.start()
        # The dead worker's message is gone (filesystem) or unacknowledged for the
        # visibility timeout (Redis); the messages still queued find the job's lease alive
        # ("skipped"). Once the lease has run out, beat's re-queue sends the job again.
        while (status := scenario.sync(service)["sync_status"]) != "applied":
            assert status != "failed", scenario.sync(service)
            assert time.monotonic() - killed < RECOVERY_BOUND_SECONDS, (
                f"not applied {RECOVERY_BOUND_SECONDS}s after the SIGKILL:\n{worker.log_tail()}"
                f"\n{beat.log_tail()}")
            time.sleep(0.1)
        recovered = time.monotonic() - killed
    finally:
        beat.stop()
    print(f"\nrecovered {recovered:.1f}s after SIGKILL")
    assert recovered <= RECOVERY_BOUND_SECONDS

    assert scenario.drift(service["domain"]) == []
    assert all(scenario.login(d["login"]) for d in devices)
    assert scenario.rcpt("team@crash.pipeline.test") == 250


def test_changes_made_while_redis_is_down_are_applied_after_it_returns(scenario, owner, pipeline,
                                                                       caplog):
    service = scenario.service("redis.pipeline.test")
    alice = scenario.address(service, "alice")
    scenario.grant(alice, owner)
    scenario.wait_applied(service)

    pipeline.redis.stop()
    try:
        bob = scenario.address(service, "bob")  # 201: the row and its outbox job are committed
        scenario.grant(bob, owner)
        devices = [scenario.device(alice, "Laptop"), scenario.device(bob, "Phone")]
        assert scenario.sync(service)["sync_status"] == "pending"
        assert "could not queue push" in caplog.text  # the send failure is logged, not raised
    finally:
        pipeline.redis.start()  # same port: the worker and this process reconnect

    requeue_until_applied(scenario, service)
    assert scenario.drift(service["domain"]) == []
    assert all(scenario.login(d["login"]) for d in devices)
    assert scenario.rcpt(bob["email"]) == 250


def test_hand_edited_lookup_row_is_restored_by_the_reconcile_task(scenario, owner, mail_stack):
    from mailservice.tasks import reconcile_mail_services

    service = scenario.service("reconcile.pipeline.test")
    scenario.address(service, "alice")
    scenario.wait_applied(service)
    with sqlite3.connect(mail_stack.config.maps_db) as db:
        db.execute("INSERT INTO aliases (source, target, domain) VALUES (?, ?, ?)",
                   ("evil@reconcile.pipeline.test", "thief@outside.test", "reconcile.pipeline.test"))
    assert scenario.drift(service["domain"]) != []
    assert scenario.rcpt("evil@reconcile.pipeline.test") == 250

    reconcile_mail_services.delay()
    deadline = time.monotonic() + 20
    while scenario.drift(service["domain"]):
        assert time.monotonic() < deadline, scenario.drift(service["domain"])
        time.sleep(0.2)
    assert scenario.rcpt("evil@reconcile.pipeline.test") == 550

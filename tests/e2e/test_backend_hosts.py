"""Scale-out (SPEC §8): each mail service belongs to a backend host and its pushes go to
that host's own queue, consumed by that host's worker. Two private Dovecot + Postfix
stacks stand for two hosts; one worker per host queue. A host that is down delays only
its own services."""
import imaplib
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from mailservice import push, services
from manager.core.models import PushJob
from scripts.localstack import MailStack
from tests.e2e.stack_logs import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def two_hosts(mail_stack, django_db_setup, django_db_blocker):
    from django.db import connection

    from .worker import RedisServer, StartError, Worker, database_url

    root = Path(tempfile.mkdtemp(prefix="mm-hosts-", dir="/tmp"))
    root.chmod(0o755)  # the daemons' unprivileged users must reach stack-b below it
    stack_b = MailStack.start(root / "stack-b")
    config = root / "hosts.json"
    config.write_text(json.dumps({"hosts": {"default": mail_stack.to_json(), "b": stack_b.to_json()}}))
    redis = RedisServer(root / "redis")
    workers = []
    try:
        redis.start()
        env = {"REDIS_URL": redis.url, "DATABASE_URL": database_url(connection.settings_dict),
               "MAIL_BACKEND_CONFIG": str(config), "PUSH_RETRY_BASE_SECONDS": "0.5",
               "MM_VAR_DIR": str(root / "var")}
        for name, queues in (("worker-a", "default,mail-default"), ("worker-b", "mail-b")):
            workers.append(Worker(root / name, env, queues=queues).start())
    except StartError as exc:
        for worker in workers:
            worker.stop()
        redis.stop()
        stack_b.stop()
        if os.environ.get("CI") == "true":
            pytest.fail(f"workers could not start: {exc}")
        pytest.skip(f"workers could not start: {exc}")
    try:
        yield {"a": mail_stack, "b": stack_b, "config": config, "redis": redis}
    finally:
        for worker in workers:
            worker.stop()
        redis.stop()
        stack_b.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def hosts(two_hosts, settings):
    from manager.celery import app

    from .worker import repoint_celery

    before = (app.conf.broker_url, app.conf.broker_transport_options)
    settings.MAIL_BACKEND_CONFIG = str(two_hosts["config"])
    repoint_celery(two_hosts["redis"].url)
    push.forget_hosts()
    yield two_hosts
    repoint_celery(*before)
    push.forget_hosts()


def can_log_in(stack, email, password) -> bool:
    try:
        imaplib.IMAP4(stack.host, stack.imap_port, timeout=30).login(email, password)
    except imaplib.IMAP4.error:
        return False
    return True


def mailbox_with_device(owner, organisation, domain, host):
    service = services.mail_service_create(actor=owner, organisation=organisation, domain=domain,
                                           plan="premium", backend_host=host)
    address = services.address_create(actor=owner, service=service, local_part="alice")
    services.access_grant(actor=owner, address=address, user=owner, permissions=["read", "send"])
    _device, password = services.device_password_create(actor=owner, address=address, name="laptop")
    return service, address.email, password


def test_each_service_is_pushed_by_its_host_queue_to_its_own_host(hosts, owner, organisation):
    a, b = hosts["a"], hosts["b"]
    _sa, email_a, password_a = mailbox_with_device(owner, organisation, "on-a.hosts.test", "default")
    _sb, email_b, password_b = mailbox_with_device(owner, organisation, "on-b.hosts.test", "b")
    assert PushJob.objects.get(target_id="on-b.hosts.test").queue == "mail-b"
    try:
        wait_for(lambda: PushJob.objects.get(target_id="on-a.hosts.test").sync_status == "applied",
                 "push to host a")
        wait_for(lambda: PushJob.objects.get(target_id="on-b.hosts.test").sync_status == "applied",
                 "push to host b")
        assert "on-b.hosts.test" in b.backend().domains() and "on-b.hosts.test" not in a.backend().domains()
        assert "on-a.hosts.test" in a.backend().domains() and "on-a.hosts.test" not in b.backend().domains()
        assert can_log_in(a, email_a, password_a) and can_log_in(b, email_b, password_b)
    finally:
        a.backend().remove_service("on-a.hosts.test")
        b.backend().remove_service("on-b.hosts.test")


def test_a_host_that_is_down_delays_only_its_own_services(hosts, owner, organisation):
    a, b = hosts["a"], hosts["b"]
    service_b = services.mail_service_create(actor=owner, organisation=organisation,
                                             domain="down-b.hosts.test", plan="premium", backend_host="b")
    wait_for(lambda: PushJob.objects.get(target_id="down-b.hosts.test").sync_status == "applied",
             "first push to host b")
    b.stop()  # host b goes down
    try:
        services.address_create(actor=owner, service=service_b, local_part="late")
        _sa, email_a, password_a = mailbox_with_device(owner, organisation, "up-a.hosts.test", "default")
        wait_for(lambda: PushJob.objects.get(target_id="up-a.hosts.test").sync_status == "applied",
                 "push to host a while b is down")
        assert can_log_in(a, email_a, password_a)
        wait_for(lambda: PushJob.objects.get(target_id="down-b.hosts.test").attempts >= 1,
                 "a failed attempt on host b")
        job_b = PushJob.objects.get(target_id="down-b.hosts.test")
        assert job_b.sync_status == "pending" and job_b.last_error  # retried with backoff, not lost
    finally:
        a.backend().remove_service("up-a.hosts.test")

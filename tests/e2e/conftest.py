"""Fixtures that start real daemons: a private Dovecot + Postfix stack and a private Knot DNS
on loopback."""

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from scripts import localdns
from scripts.localstack import MailStack, missing_binaries

# Where the daemons' folders go (MAILSTACK_KEEP=1 keeps them, logs included): /tmp unless
# MM_E2E_TMP names another folder that every user may traverse.
E2E_TMP = os.environ.get("MM_E2E_TMP", "/tmp")


@pytest.fixture(scope="session")
def mail_stack():
    missing = missing_binaries()
    if missing:
        message = f"mail daemons not installed ({', '.join(missing)}): run scripts/install-system-packages.sh"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    # Not pytest's tmp_path: its parent is mode 0700, and the daemons' unprivileged users
    # (Postfix, the mail uid) must traverse to their files.
    root = Path(tempfile.mkdtemp(prefix="mm-e2e-", dir=E2E_TMP))
    stack = MailStack.start(root)
    try:
        yield stack
    finally:
        stack.stop()
        if os.environ.get("MAILSTACK_KEEP") != "1":
            shutil.rmtree(root, ignore_errors=True)


# --- The push pipeline: a private Redis and a real Celery worker ---------------------------


# The worker also consumes this host's queue, as if deployed for a host whose entry is
# missing from MAIL_BACKEND_CONFIG: its pushes then fail permanently and visibly.
UNCONFIGURED_HOST = "unconfigured"


@dataclass
class PipelineProcesses:
    root: Path
    redis: object  # tests.e2e.worker.RedisServer
    worker: object  # tests.e2e.worker.Worker
    stack_json: Path


@pytest.fixture(scope="module")
def pipeline_processes(mail_stack, django_db_setup, django_db_blocker):
    """A private redis-server and a Celery worker (queues default, mail-default) that use
    the test database, the private Redis and the private mail stack. Depends on
    django_db_setup so it is stopped before the test database is dropped. Module scope:
    the worker must be gone before other modules drive the shared mail stack directly,
    or its late pushes (retries, re-queues) reload Postfix under their feet."""
    from django.db import connection

    from .worker import RedisServer, StartError, Worker, database_url

    root = Path(tempfile.mkdtemp(prefix="mm-pipeline-", dir=E2E_TMP))
    stack_json = root / "stack.json"
    stack_json.write_text(json.dumps(mail_stack.to_json()))
    var_dir = root / "var"
    var_dir.mkdir()
    redis = RedisServer(root / "redis")
    worker = None
    try:
        redis.start()
        worker = Worker(root / "worker", {
            "REDIS_URL": redis.url,
            "DATABASE_URL": database_url(connection.settings_dict),
            "MAIL_BACKEND_CONFIG": str(stack_json),
            "PUSH_RETRY_BASE_SECONDS": "0.5",
            "MM_VAR_DIR": str(var_dir),
        }, queues=f"default,mail-default,mail-{UNCONFIGURED_HOST}")
        worker.start()
    except StartError as exc:
        redis.stop()
        if worker is not None:
            worker.stop()
        shutil.rmtree(root, ignore_errors=True)
        if os.environ.get("CI") == "true":
            pytest.fail(f"push pipeline could not start: {exc}")
        pytest.skip(f"push pipeline could not start: {exc}")
    try:
        yield PipelineProcesses(root=root, redis=redis, worker=worker, stack_json=stack_json)
    finally:
        worker.stop()
        redis.stop()
        if os.environ.get("MAILSTACK_KEEP") != "1":
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pipeline(pipeline_processes, settings):
    """Point this test process at the private Redis and mail stack; make sure the worker
    and Redis run (a previous test may have killed them) and restore the app after."""
    from mailservice import push
    from manager.celery import app

    from .worker import repoint_celery

    procs = pipeline_processes
    if not procs.redis.running:
        procs.redis.start()
    if not procs.worker.running:
        procs.worker.start()
    before = (app.conf.broker_url, app.conf.broker_transport_options)
    settings.MAIL_BACKEND_CONFIG = str(procs.stack_json)
    settings.CELERY_BROKER_URL = procs.redis.url
    repoint_celery(procs.redis.url)
    push.forget_hosts()
    try:
        yield procs
    finally:
        repoint_celery(*before)
        push.forget_hosts()


# --- DNS: a private Knot ------------------------------------------------------------------


@pytest.fixture(scope="session")
def knot():
    """A private Knot (scripts.localdns.DnsStack) on a free loopback port: `host`, `port`,
    `tsig` (the push key, a dns.tsig.Key), `control_socket`, `backend()` (a KnotBackend),
    `restart()`. Tests share it: each works in zones of its own."""
    missing = localdns.missing_binaries()
    if missing:
        message = f"Knot not installed ({', '.join(missing)}): run scripts/install-system-packages.sh"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    root = Path(tempfile.mkdtemp(prefix="mm-dns-", dir=E2E_TMP))
    stack = localdns.DnsStack.start(root)
    try:
        yield stack
    finally:
        stack.stop()
        if os.environ.get("MAILSTACK_KEEP") != "1":
            shutil.rmtree(root, ignore_errors=True)

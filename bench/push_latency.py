"""API write → effective backend state: latency over 50 device-password creations.

Starts its own private Dovecot + Postfix, redis-server and Celery worker (solo pool) and
uses a throwaway SQLite database in a temporary MM_VAR_DIR; stops everything by PID.

For each change: POST /api/v1/addresses/{id}/device-passwords/ (bearer token), then poll
the backend's passdb (the SQLite table Dovecot queries on every login, no auth cache)
every 2 ms until the new token's row is there ("effective"), then one IMAP login with
the returned password must succeed ("login"). Polling IMAP itself would be too coarse:
every refused login costs Dovecot's ~2 s auth failure delay.

    .venv/bin/python bench/push_latency.py [--changes 50]
"""

from __future__ import annotations

import argparse
import hashlib
import imaplib
import json
import os
import secrets
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class Harness:
    """Private stack + Redis (+ worker), env set before django.setup()."""

    def __init__(self, *, worker: bool = True):
        self.exit = ExitStack()
        self.tmp = Path(tempfile.mkdtemp(prefix="mm-bench-", dir="/tmp"))
        self.exit.callback(shutil.rmtree, self.tmp, True)
        self.want_worker = worker
        self.stack = self.redis = self.worker = None

    def __enter__(self) -> Harness:
        from tests.e2e.worker import RedisServer, Worker

        var = self.tmp / "var"
        var.mkdir()
        stack_json = self.tmp / "stack.json"
        self.redis = RedisServer(self.tmp / "redis").start()
        self.exit.callback(self.redis.stop)
        env = {
            "MM_VAR_DIR": str(var),
            "REDIS_URL": self.redis.url,
            "MAIL_BACKEND_CONFIG": str(stack_json),
            "DJANGO_SETTINGS_MODULE": "manager.settings",
            "DATABASE_URL": f"sqlite:///{var / 'db.sqlite3'}",
        }
        os.environ.update(env)
        os.environ.setdefault("SECRET_KEY", "bench-" + secrets.token_urlsafe(32))  # DEBUG off needs a key of its own
        os.environ.pop("CELERY_TASK_ALWAYS_EAGER", None)
        import django

        django.setup()
        from django.core.management import call_command

        from scripts.localstack import MailStack

        call_command("migrate", verbosity=0)
        # Not under a 0700 directory: the daemons' own users must reach their files.
        root = Path(tempfile.mkdtemp(prefix="mm-bench-stack-", dir="/tmp"))
        self.exit.callback(shutil.rmtree, root, True)
        self.stack = MailStack.start(root)
        self.exit.callback(self.stack.stop)
        stack_json.write_text(json.dumps(self.stack.to_json()))
        if self.want_worker:
            self.worker = Worker(self.tmp / "worker", env).start()
            self.exit.callback(self.worker.stop)
        return self

    def __exit__(self, *exc):
        self.exit.close()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=50)
    args = parser.parse_args()

    with Harness() as h:
        from rest_framework.test import APIClient

        from mailservice import services
        from manager.accounts.services import api_token_create
        from tests.factories import make_organisation, make_user

        owner = make_user("bench-owner@example.org")
        org = make_organisation(owner, "Bench")
        service = services.mail_service_create(actor=owner, organisation=org,
                                               domain="latency.bench.test", plan="premium")
        address = services.address_create(actor=owner, service=service, local_part="alice")
        services.access_grant(actor=owner, address=address, user=owner, permissions=["read", "send"])
        _token, raw = api_token_create(actor=owner, name="bench")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        user_db = h.stack.config.user_db

        effective, login, api_times = [], [], []
        for i in range(args.changes):
            started = time.perf_counter()
            response = client.post(f"/api/v1/addresses/{address.pk}/device-passwords/",
                                   {"name": f"device {i}"}, format="json")
            api_times.append(time.perf_counter() - started)
            assert response.status_code == 201, response.content
            password = response.json()["password"]
            digest = hashlib.sha256(password.encode()).hexdigest()
            deadline = started + 30
            with sqlite3.connect(user_db, timeout=5) as db:
                while not db.execute("SELECT 1 FROM device_passwords WHERE token_sha256 = ?",
                                     (digest,)).fetchone():
                    if time.perf_counter() > deadline:
                        sys.exit(f"change {i} not effective after 30 s:\n{h.worker.log_tail()}")
                    time.sleep(0.002)
            effective.append(time.perf_counter() - started)
            imap = imaplib.IMAP4(h.stack.host, h.stack.imap_port, timeout=30)
            imap.login(address.email, password)
            login.append(time.perf_counter() - started)
            imap.logout()

    def ms(values, p):
        return f"{percentile(values, p) * 1000:7.1f} ms"

    print(f"push latency over {args.changes} changes (device password created through the API)")
    print(f"  API call (commit + enqueue)      p50 {ms(api_times, .5)}   p95 {ms(api_times, .95)}")
    print(f"  API call → row in Dovecot passdb p50 {ms(effective, .5)}   p95 {ms(effective, .95)}"
          f"   max {max(effective) * 1000:.1f} ms")
    print(f"  API call → IMAP login succeeded  p50 {ms(login, .5)}   p95 {ms(login, .95)}")
    print(f"  mean effective {statistics.mean(effective) * 1000:.1f} ms")


if __name__ == "__main__":
    main()

"""Benchmark: the mail API at scale — one PostgreSQL service of 10,000 addresses, every
call in-process and over HTTP (gunicorn), with p50/p95, queries per call and the ratios
of issue 16 (a page against the raw SQL of its rows and an authenticated no-op).

Run (as root: the mail stack's daemons need it), from the repository root:

    .venv/bin/python bench/api_scale.py                 # --addresses 10000 --runs 50

PostgreSQL: DATABASE_URL names a server; the script creates its own throwaway database
there (postgres://postgres@127.0.0.1:5432 by default) and drops it at the end. It starts
its own redis-server, Celery worker, gunicorn (free loopback ports) and private Dovecot +
Postfix (scripts/localstack.py), stops each by PID and removes its temporary files."""
from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS_MS = {"create": 14, "update": 3, "retrieve": 2.5, "delete": 10, "list 10": 10,
              "list 100": 20}


def percentile(values, p):
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


class Throwaway:
    """A database of our own on the server DATABASE_URL names."""

    def __init__(self, server_url: str):
        import psycopg

        self.psycopg = psycopg
        parts = urllib.parse.urlsplit(server_url)
        self.name = f"mm_bench_{os.getpid()}"
        self.admin = parts._replace(path="/postgres").geturl()
        self.url = parts._replace(path=f"/{self.name}").geturl()

    def __enter__(self):
        with self.psycopg.connect(self.admin, autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{self.name}"')
        return self

    def __exit__(self, *exc):
        from django.db import connections

        connections.close_all()
        with self.psycopg.connect(self.admin, autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class Gunicorn:
    def __init__(self, root: Path, env: dict[str, str]):
        from tests.e2e.worker import free_port

        self.port, self.root, self.env, self.proc = free_port(), root, env, None

    def start(self):
        log = open(self.root / "gunicorn.log", "a")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "manager.wsgi", "-b", f"127.0.0.1:{self.port}",
             "-w", "1", "--threads", "1", "--log-level", "warning"],
            cwd=ROOT, env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/api/v1/")
                conn.getresponse().read()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError((self.root / "gunicorn.log").read_text()[-2000:])

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Http:
    """One keep-alive connection, like an integrator's client."""

    def __init__(self, port, token):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def __call__(self, method, url, body=None):
        self.conn.request(method.upper(), url, body=json.dumps(body) if body is not None else None,
                          headers=self.headers)
        response = self.conn.getresponse()
        data = response.read()
        return response.status, data


def process_cpu(pid: int) -> float:
    """A process's CPU seconds so far (user + system): its own work, however loaded the
    machine is."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_applied(service, worker, timeout: float = 600) -> None:
    """Until the mail service's push job has applied its latest generation."""
    from mailservice.selectors import sync_jobs

    deadline = time.monotonic() + timeout
    while True:
        job = sync_jobs([service.domain]).get(service.domain)
        if job is not None and job.applied_generation >= job.generation:
            return
        if time.monotonic() > deadline:
            sys.exit(f"{service.domain} not applied after {timeout} s:\n{worker.log_tail()}")
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--database-url", default=os.environ.get(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    args.load_at_start = " ".join(f"{x:.2f}" for x in os.getloadavg())

    with ExitStack() as exit_stack:
        tmp = Path(tempfile.mkdtemp(prefix="mm-bench-", dir="/tmp"))
        exit_stack.callback(shutil.rmtree, tmp, True)
        database = exit_stack.enter_context(Throwaway(args.database_url))
        from tests.e2e.worker import RedisServer, Worker

        redis = RedisServer(tmp / "redis").start()
        exit_stack.callback(redis.stop)
        var = tmp / "var"
        var.mkdir()
        env = {"MM_VAR_DIR": str(var), "REDIS_URL": redis.url, "DATABASE_URL": database.url,
               "MAIL_BACKEND_CONFIG": str(tmp / "stack.json"),
               "DJANGO_SETTINGS_MODULE": "manager.settings", "API_THROTTLE_USER": "1000000/min",
               "DEBUG": "false"}
        os.environ.update(env)
        os.environ.setdefault("SECRET_KEY", "bench-" + secrets.token_urlsafe(32))  # DEBUG off needs a key of its own
        os.environ.pop("CELERY_TASK_ALWAYS_EAGER", None)
        import django

        django.setup()
        from django.core.management import call_command

        from scripts.localstack import MailStack

        call_command("migrate", verbosity=0)
        stack_root = Path(tempfile.mkdtemp(prefix="mm-bench-stack-", dir="/tmp"))
        exit_stack.callback(shutil.rmtree, stack_root, True)
        stack = MailStack.start(stack_root)
        exit_stack.callback(stack.stop)
        (tmp / "stack.json").write_text(json.dumps(stack.to_json()))
        worker = Worker(tmp / "worker", env).start(timeout=60)
        exit_stack.callback(worker.stop)
        gunicorn = Gunicorn(tmp, env).start()
        exit_stack.callback(gunicorn.stop)
        run(args, stack, gunicorn, worker)


def run(args, stack, gunicorn, worker):
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from mailservice import services
    from mailservice.services import bulk
    from manager.accounts import services as accounts
    from manager.accounts.models import Membership, User
    from manager.core.models import Job

    n = args.addresses
    owner = User.objects.create_user("bench@example.org", "bench-password-1")
    organisation = accounts.organisation_create(actor=owner, name="Bench")
    service = services.mail_service_create(actor=owner, organisation=organisation,
                                           domain="big.bench.test", plan="premium",
                                           capacity=n + 10_000)
    _token, raw = accounts.api_token_create(actor=owner, name="bench")
    members = []
    for i in range(args.runs + 1):
        user = User.objects.create_user(f"member{i}@example.org", "bench-password-1")
        members.append(Membership.objects.create(organisation=organisation, user=user,
                                                 role="member"))

    def csv_text(prefix, count):
        lines = [",".join(bulk.COLUMNS)]
        for i in range(count):
            extra = f"{prefix}{i:05d}-alias" if i % 10 == 0 else ""
            redirect = f"{prefix}{i}@elsewhere.example" if i % 20 == 0 else ""
            lines.append(f"{prefix}{i:05d},User {i},1024,true,{extra},{redirect},,")
        return "\n".join(lines) + "\n"

    rows_out = []
    figures = {}

    # --- bulk import: the population itself, in-process as the worker runs it --------------
    # The job as import_start records it, without sending it to the worker.
    job = Job.objects.create(kind=bulk.IMPORT_KIND, organisation=organisation, actor=owner,
                             params={"mail_service": service.pk, "dry_run": False},
                             payload=csv_text("user", n))
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        state = bulk.import_run(job.pk)
        took = time.perf_counter() - started
    assert state == "done", Job.objects.get(pk=job.pk).errors
    rows_out.append((f"bulk import {n:,} rows, in-process (import_run)", took * 1000, None,
                     len(queries.captured_queries), "≤ 10 s"))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    # --- through the real worker: POST the file, poll the job until done --------------------
    other = services.mail_service_create(actor=owner, organisation=organisation,
                                         domain="import.bench.test", plan="premium",
                                         capacity=n + 10)
    # The in-process import queued the push of its 10,000 addresses; the worker (one solo
    # process) would run it first and the import would wait behind it.
    wait_applied(service, worker)
    wait_applied(other, worker)
    worker_cpu = process_cpu(worker.proc.pid)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("a.csv", csv_text("imp", n).encode(), content_type="text/csv")
    started = time.perf_counter()
    response = api.post("/api/v1/addresses/import/", {"file": upload, "mail_service": other.pk},
                        format="multipart")
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    progress_seen = set()
    while True:
        body = api.get(f"/api/v1/jobs/{job_id}/").json()
        progress_seen.add(body["progress"])
        if body["state"] in ("done", "failed"):
            break
        if time.perf_counter() - started > 300:
            sys.exit(f"import not done after 300 s:\n{worker.log_tail()}")
        time.sleep(0.05)
    assert body["state"] == "done", body["errors"][:5]
    rows_out.append((f"bulk import {n:,} rows, POST → job done (Celery worker)",
                     (time.perf_counter() - started) * 1000, None, None,
                     f"≤ 10 s · worker cpu {process_cpu(worker.proc.pid) - worker_cpu:.1f} s · "
                     f"progress seen: {len(progress_seen)} values"))
    wait_applied(other, worker)
    rows_out.append((f"bulk import {n:,} rows, POST → the service's push applied",
                     (time.perf_counter() - started) * 1000, None, None, ""))

    # --- the calls -------------------------------------------------------------------------
    first = services.address_create(actor=owner, service=service, local_part="aaa-target")
    v1 = "/api/v1"
    s = service.pk
    created = []
    counter = iter(range(10**6))

    def create(call):
        status, body = call("post", f"{v1}/addresses/", {"mail_service": s,
                                                        "local_part": f"new{next(counter)}"})
        assert status == 201, body
        created.append(json.loads(body)["id"])

    def delete(call):
        status, body = call("delete", f"{v1}/addresses/{created.pop()}/")
        assert status == 204, body

    flip = iter(range(10**6))

    def update(call):
        status, body = call("patch", f"{v1}/addresses/{first.pk}/",
                            {"display_name": f"Name {next(flip)}"})
        assert status == 200, body

    grant_targets = iter(members * 4)

    def grant(call):
        membership = next(grant_targets)
        status, body = call("patch", f"{v1}/organisations/{organisation.pk}/members/{membership.pk}/",
                            {"role": "admin"})
        assert status == 200, body
        Membership.objects.filter(pk=membership.pk).update(role="member")

    def get(url):
        def call_get(call):
            status, body = call("get", url)
            assert status == 200, (url, status, body[:300])
        return call_get

    cases = [
        ("authenticated no-op (GET /api/v1/)", get(f"{v1}/")),
        ("retrieve", get(f"{v1}/addresses/{first.pk}/")),
        ("update", update),
        ("create", create),
        ("delete", delete),
        ("list 10", get(f"{v1}/addresses/?limit=10&mail_service={s}")),
        ("list 100", get(f"{v1}/addresses/?limit=100&mail_service={s}")),
        ("list 10, search", get(f"{v1}/addresses/?limit=10&mail_service={s}&search=user05")),
        ("list 10, ordering=-created", get(f"{v1}/addresses/?limit=10&mail_service={s}"
                                           "&ordering=-created")),
        ("list 100, last page", get(f"{v1}/addresses/?limit=100&mail_service={s}"
                                    f"&offset={n - 100}")),
        ("grant an organisation admin", grant),
    ]

    def in_process(method, url, body=None):
        kwargs = {"format": "json"} if body is not None else {}
        response = getattr(api, method)(url, body, **kwargs) if body is not None \
            else getattr(api, method)(url)
        return response.status_code, response.content

    http_call = Http(gunicorn.port, raw)
    results = {}
    for transport, call in (("in-process", in_process), ("HTTP", http_call)):
        for name, case in cases:
            if name == "delete":
                for _ in range(args.runs + 2):
                    create(call)
            case(call)  # warm up
            times, counts, cpu = [], [], []
            for _ in range(args.runs):
                reset_queries()
                with CaptureQueriesContext(connection) as queries:
                    started, cpu_started = time.perf_counter(), time.process_time()
                    case(call)
                    times.append((time.perf_counter() - started) * 1000)
                    cpu.append((time.process_time() - cpu_started) * 1000)
                # Statements, not transaction control (BEGIN/COMMIT), as the tests count.
                counts.append(sum(1 for q in queries.captured_queries
                                  if q["sql"] not in ("BEGIN", "COMMIT")))
            results[(transport, name)] = times
            figures[(transport, name)] = statistics.median(times)
            # In-process, this process's CPU time is the call's own work, whatever the other
            # processes of a loaded machine take; over HTTP it is only the client's.
            cpu_note = f"cpu p50 {percentile(cpu, 0.5):.1f} ms" if transport == "in-process" else ""
            target = f"≤ {TARGETS_MS[name]} ms" if name in TARGETS_MS else ""
            rows_out.append((f"{transport}: {name}", percentile(times, 0.5),
                             percentile(times, 0.95),
                             statistics.median_low(counts) if transport == "in-process" else None,
                             " · ".join(t for t in (target, cpu_note) if t)))

    # --- the raw SQL of a page ---------------------------------------------------------------
    for limit in (10, 100):
        with CaptureQueriesContext(connection) as queries:
            api.get(f"{v1}/addresses/?limit={limit}&mail_service={s}")
        page_sql = next(q["sql"] for q in queries.captured_queries
                        if q["sql"].startswith('SELECT "mailservice_address"."id"'))
        times = []
        for _ in range(args.runs):
            with connection.cursor() as cursor:
                started = time.perf_counter()
                cursor.execute(page_sql)
                cursor.fetchall()
                times.append((time.perf_counter() - started) * 1000)
        figures[f"raw {limit}"] = statistics.median(times)
        rows_out.append((f"raw SQL of a page of {limit} (cursor.execute + fetchall)",
                         percentile(times, 0.5), percentile(times, 0.95), 1, ""))

    # --- the raw SQL of an update: its own statements replayed, with their COMMIT ----------
    # What the database alone costs a write (the token, the row, the role, the UPDATE, the
    # audit INSERT, the push job's UPDATE, then the commit's flush): the floor under the
    # update target.
    from django.db import transaction

    with CaptureQueriesContext(connection) as queries:
        update(in_process)
    statements = [q["sql"] for q in queries.captured_queries
                  if q["sql"] not in ("BEGIN", "COMMIT") and not q["sql"].startswith("SAVEPOINT")
                  and not q["sql"].startswith("RELEASE SAVEPOINT")]
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
        times.append((time.perf_counter() - started) * 1000)
    figures["raw update"] = statistics.median(times)
    rows_out.append((f"raw SQL of an update ({len(statements)} statements + COMMIT, replayed)",
                     percentile(times, 0.5), percentile(times, 0.95), len(statements), ""))

    # --- full export -----------------------------------------------------------------------
    times = []
    for _ in range(5):
        started = time.perf_counter()
        response = api.get(f"{v1}/addresses/export/?mail_service={s}")
        size = sum(len(chunk) for chunk in response.streaming_content)
        times.append((time.perf_counter() - started) * 1000)
    rows_out.append((f"full export ({n:,}+ addresses, {size / 1024:.0f} KiB), in-process",
                     percentile(times, 0.5), percentile(times, 0.95), None, ""))

    # --- an API write → effective on Dovecot (its userdb row) --------------------------------
    user_db = stack.config.user_db
    times = []
    for i in range(20):
        email = f"dovecot{i}@{service.domain}"
        started = time.perf_counter()
        status, body = http_call("post", f"{v1}/addresses/", {"mail_service": s,
                                                             "local_part": f"dovecot{i}"})
        assert status == 201, body
        with sqlite3.connect(user_db, timeout=5) as db:
            while not db.execute("SELECT 1 FROM mailboxes WHERE email = ?", (email,)).fetchone():
                if time.perf_counter() - started > 60:
                    sys.exit(f"{email} not in Dovecot after 60 s:\n{worker.log_tail()}")
                time.sleep(0.002)
        times.append((time.perf_counter() - started) * 1000)
    rows_out.append(("HTTP create → mailbox in Dovecot's userdb (push of the 10k service)",
                     percentile(times, 0.5), percentile(times, 0.95), None, ""))

    print(f"\n{n:,} addresses in one mail service, PostgreSQL, {args.runs} runs per call; load "
          f"average at the start {args.load_at_start}, at the end "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)\n")
    print(f"| {'operation':70s} | {'p50':>10s} | {'p95':>10s} | queries | target |")
    print(f"|{'-' * 72}|{'-' * 12}|{'-' * 12}|---------|--------|")
    for name, p50, p95, count, target in rows_out:
        p95_text = f"{p95:7.1f} ms" if p95 is not None else ""
        print(f"| {name:70s} | {p50:7.1f} ms | {p95_text:>10s} | {count if count is not None else '':>7} "
              f"| {target} |")
    print("\nratios (p50):")
    for transport in ("in-process", "HTTP"):
        noop = figures[(transport, "authenticated no-op (GET /api/v1/)")]
        for limit in (10, 100):
            page = figures[(transport, f"list {limit}")]
            raw_sql = figures[f"raw {limit}"]
            target = (f"page ≤ 2 × no-op + raw: {page <= 2 * noop + raw_sql}" if limit == 10
                      else f"page ≤ 3 × raw: {page <= 3 * raw_sql}")
            print(f"  {transport:10s} page of {limit:3d}: {page / raw_sql:5.1f}× its raw SQL, "
                  f"{(page - raw_sql) / noop:5.2f}× (page − raw SQL) / no-op; target {target}")
        ten, hundred = figures[(transport, "list 10")], figures[(transport, "list 100")]
        print(f"  {transport:10s} page of 100 / page of 10: {hundred / ten:4.2f}")


if __name__ == "__main__":
    main()

"""Profile of the per-request floor: what an authenticated API call costs before (and
around) its rows, on PostgreSQL with one service of 10,000 addresses, in-process.

    .venv/bin/python bench/request_floor.py            # --addresses 10000 --runs 300 --top 40

Creates a throwaway database on the server DATABASE_URL names (default
postgres://postgres@127.0.0.1:5432), bulk-inserts the addresses, then for each call
prints p50/p95 over --runs calls, the CPU time this process spent (the call's own work,
which the other processes of a loaded machine do not inflate), its statements, and the
functions that cost most (cProfile, cumulative and own time), so a cut can be aimed at
what it removes. No daemons are started."""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--only", default="", help="comma-separated call names to profile")
    parser.add_argument("--no-profile", action="store_true", help="timings and queries only")
    parser.add_argument("--database-url", default=os.environ.get(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    from api_scale import Throwaway, percentile

    tmp = Path(tempfile.mkdtemp(prefix="mm-floor-", dir="/tmp"))
    try:
        with Throwaway(args.database_url) as database:
            os.environ.update({"MM_VAR_DIR": str(tmp), "DATABASE_URL": database.url,
                               "DJANGO_SETTINGS_MODULE": "manager.settings",
                               "API_THROTTLE_USER": "1000000/min", "DEBUG": "false"})
            import django

            django.setup()
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
            run(args, percentile)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(args, percentile):
    from django.db import connection
    from rest_framework.test import APIClient

    from mailservice import services
    from mailservice.models import Address
    from manager.accounts import services as accounts
    from manager.accounts.models import User

    owner = User.objects.create_user("floor@example.org", "floor-password-1")
    organisation = accounts.organisation_create(actor=owner, name="Floor")
    service = services.mail_service_create(actor=owner, organisation=organisation,
                                           domain="floor.bench.test", plan="premium",
                                           capacity=args.addresses + 10)
    Address.objects.bulk_create(
        Address(mail_service=service, local_part=f"user{i:05d}", display_name=f"User {i}",
                enabled=i % 10 != 0) for i in range(args.addresses))
    first = services.address_create(actor=owner, service=service, local_part="aaa-target")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    _token, raw = accounts.api_token_create(actor=owner, name="floor")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    flip = iter(range(10**7))
    calls = {
        "no-op": lambda: api.get("/api/v1/"),
        "retrieve": lambda: api.get(f"/api/v1/addresses/{first.pk}/"),
        "update": lambda: api.patch(f"/api/v1/addresses/{first.pk}/",
                                    {"display_name": f"N {next(flip)}"}, format="json"),
        "list 10": lambda: api.get(f"/api/v1/addresses/?limit=10&mail_service={service.pk}"),
        "list 100": lambda: api.get(f"/api/v1/addresses/?limit=100&mail_service={service.pk}"),
    }
    only = [n for n in args.only.split(",") if n]
    for name, call in calls.items():
        if only and name not in only:
            continue
        for _ in range(5):
            assert call().status_code == 200
        statements = []

        def record(execute, sql, params, many, context, statements=statements):
            statements.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record):
            call()
        times, cpu = [], []
        for _ in range(args.runs):
            started, cpu_started = time.perf_counter(), time.process_time()
            call()
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
        print(f"\n=== {name}: p50 {percentile(times, .5):.2f} ms, p95 {percentile(times, .95):.2f} ms,"
              f" mean {statistics.mean(times):.2f} ms; this process's CPU p50"
              f" {percentile(cpu, .5):.2f} ms; {len(statements)} queries,"
              f" load {os.getloadavg()[0]:.1f}")
        for sql in statements:
            print("   ", sql[:200])
        if args.no_profile:
            continue
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.runs):
            call()
        profile.disable()
        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats(order).print_stats(args.top)
            print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip()))


if __name__ == "__main__":
    main()

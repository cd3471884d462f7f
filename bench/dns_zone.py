"""A 10,000-record zone through the product: render (the desired state from the database,
and the zone-file export), the first push to a real Knot, and the reconcile (AXFR +
compare) — seconds, queries and peak memory of each.

A private Knot (scripts.localdns.DnsStack) on a free loopback port and a throwaway SQLite
database in a temporary MM_VAR_DIR; everything is stopped and removed at the end.

    .venv/bin/python bench/dns_zone.py [--records 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TMP = Path(tempfile.mkdtemp(prefix="mm-bench-dns-", dir="/tmp"))
os.environ["MM_VAR_DIR"] = str(TMP / "var")
os.environ.pop("DATABASE_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "manager.settings")
os.environ.setdefault("SECRET_KEY", "bench-" + secrets.token_urlsafe(32))  # DEBUG off needs a key of its own

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402


def measured(label: str, call):
    tracemalloc.start()
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = call()
        seconds = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  {label:<44} {seconds:7.2f} s  {len(queries):5d} queries  "
          f"peak {peak / 2**20:6.1f} MiB")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    args = parser.parse_args()
    from scripts.localdns import DnsStack

    knot = DnsStack.start(TMP / "knot")
    try:
        call_command("migrate", verbosity=0)
        from django.conf import settings

        from dnszones import push, selectors
        from dnszones.desired import desired_state
        from dnszones.models import PUSH_KIND, Domain, Record
        from manager.core import outbox
        from manager.core.models import PushJob
        from tests.factories import make_domain, make_organisation, make_user

        config = TMP / "dns.json"
        config.write_text(json.dumps(knot.to_json()))
        settings.DNS_BACKEND_CONFIG = str(config)
        push.forget_hosts()
        outbox.send = lambda job, countdown=None: None  # the job is run below, in process

        owner = make_user("bench@example.org")
        organisation = make_organisation(owner, "Bench")
        domain = make_domain(owner, organisation, "big-zone.bench.test")
        Record.objects.bulk_create(
            Record(domain=domain, name=f"h{i}", type="A", ttl=300, value=f"10.{i // 62500}.{i // 250 % 250}.{i % 250 + 1}")
            for i in range(args.records))
        domain = Domain.objects.get(pk=domain.pk)
        print(f"a zone of {args.records} records ({knot.host}:{knot.port}), SQLite")
        state = measured("render: desired state from the database", lambda: desired_state(domain))
        measured("render: zone-file export", lambda: selectors.zone_file(domain))
        job = PushJob.objects.get(kind=PUSH_KIND, target_id=domain.name)
        assert measured("first push to Knot (UPDATEs)", lambda: outbox.run(job.pk)) == "done"
        assert len(state.rrsets) >= args.records
        found = measured("reconcile: AXFR + compare, nothing to repair", push.reconcile)
        assert found == {}, found
    finally:
        knot.stop()
        shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    main()

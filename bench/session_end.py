"""Benchmark: ending one person's web sessions (a role change, disabling a person) among
N open sessions of others. Sessions record whose they are (manager/accounts/sessions.py),
so it is one indexed delete; before, the service decoded every live session (measured on
SQLite: 1,000 → 105 ms, 10,000 → 1.2 s, 50,000 → 3.6 s, inside the role change's
transaction). Prints the time as N grows.

Run: .venv/bin/python bench/session_end.py [N ...]   (uses a throwaway SQLite database)"""
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["MM_VAR_DIR"] = tempfile.mkdtemp(prefix="mm-bench-")
os.environ.pop("DATABASE_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "manager.settings")
os.environ.setdefault("SECRET_KEY", "bench-" + secrets.token_urlsafe(32))  # DEBUG off needs a key of its own

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from manager.accounts.models import User  # noqa: E402
from manager.accounts.models import WebSession as Session  # noqa: E402
from manager.accounts.services import end_web_sessions  # noqa: E402
from manager.accounts.sessions import SessionStore  # noqa: E402


def open_sessions(user_ids):
    store = SessionStore()
    rows = [Session(session_key=f"k{i:031d}", session_data=store.encode({"_auth_user_id": str(uid)}),
                    expire_date=store.get_expiry_date(), user_id=uid) for i, uid in enumerate(user_ids)]
    Session.objects.bulk_create(rows, batch_size=2000)


def main(sizes):
    call_command("migrate", verbosity=0)
    target = User.objects.create_user(email="target@example.org", password="x" * 12)
    for n in sizes:
        Session.objects.all().delete()
        open_sessions([target.pk] * 3 + [10_000 + i for i in range(n - 3)])
        started = time.perf_counter()
        ended = end_web_sessions(target)
        elapsed = time.perf_counter() - started
        print(f"{n:>8} open sessions: ended the person's {ended} in {elapsed * 1000:8.1f} ms")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1_000, 10_000, 50_000])

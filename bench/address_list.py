"""Benchmark: the address list (UI page and API) of a mail service with 10,000 addresses.

Run: .venv/bin/python bench/address_list.py   (uses a throwaway SQLite database)
Prints the median and worst time of a page and the number of queries per page."""
import os
import secrets
import statistics
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
os.environ["API_THROTTLE_USER"] = "100000/min"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

N = 10_000


def main():
    call_command("migrate", verbosity=0)
    from mailservice import services
    from mailservice.models import Address
    from manager.accounts import services as accounts
    from manager.accounts.models import User

    owner = User.objects.create_user("bench@example.org", "bench-password-1")
    organisation = accounts.organisation_create(actor=owner, name="Bench")
    service = services.mail_service_create(actor=owner, organisation=organisation, domain="big.example",
                                           plan="premium", capacity=N + 5)
    Address.objects.bulk_create(Address(mail_service=service, local_part=f"user{i:05d}") for i in range(N))
    _token, raw = accounts.api_token_create(actor=owner, name="bench")
    ui = Client()
    ui.force_login(owner)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    cases = {
        "UI page 1": lambda: ui.get("/mail/addresses/"),
        "UI page 150 (offset)": lambda: ui.get("/mail/addresses/?page=150"),
        "UI search 'user09'": lambda: ui.get("/mail/addresses/?q=user09"),
        "API 50 per page": lambda: api.get("/api/v1/addresses/?limit=50"),
        "API 1000 per page": lambda: api.get("/api/v1/addresses/?limit=1000"),
    }
    print(f"{N} addresses in one mail service (SQLite)")
    for name, call in cases.items():
        call()  # warm up
        times = []
        for _ in range(10):
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                response = call()
                times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.status_code
        print(f"  {name:24s} median {statistics.median(times):7.1f} ms   worst {max(times):7.1f} ms   "
              f"{len(queries.captured_queries)} queries")


if __name__ == "__main__":
    main()

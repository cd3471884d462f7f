"""Benchmark: signatures.

(a) Render + sanitise 10,000 signatures in-process: `render_signature()` of the three
    layouts (profile and user values resolved, typed values checked, phone numbers
    normalised, the whole HTML through nh3), varied values; median of --runs runs.
(b) The bulk activation on 10,000 addresses (one user each: 10,000 signatures made),
    end to end through the API: POST mail-services/{id}/signature-templates/{tid}/activate/
    (202, a job), the worker's task body run in this process (`job_run`, what the Celery
    task `run_signature_job` calls; no broker in the timing), then GET signature-jobs/{id}/
    until `done`. Queries per batch are counted. Throwaway SQLite database.

    .venv/bin/python bench/signatures.py [--signatures 10000] [--addresses 10000] [--runs 5]
"""
import argparse
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
from rest_framework.test import APIClient  # noqa: E402


def designs():
    from signatures import fields as f
    from signatures.render import Design, FieldSpec, ImageRef

    def spec(key, source=f.AUTO, **extra):
        return FieldSpec(key=key, source=source, **extra)

    common = (spec("first_name"), spec("last_name"), spec("job_title", fallback="Staff"),
              spec("department", f.USER), spec("company"), spec("phone"), spec("mobile", f.USER),
              spec("email"), spec("website", f.FIXED, value="https://acme.example/"),
              spec("legal_notice", f.FIXED, value="Acme SA\nRue du Rhône 1, 1204 Genève"))
    logo = ImageRef("https://manager.example/signatures/images/a.png", "Acme", 400, 200)
    photo = ImageRef("https://manager.example/signatures/images/b.jpg", "Portrait", 400, 400)
    return [
        (Design(layout="simple", fields=common), {}),
        (Design(layout="logo", fields=(*common, spec("logo", f.FIXED, value="a"))), {"logo": logo}),
        (Design(layout="photo_social", fields=(*common, spec("photo", f.USER),
                                               spec("linkedin", f.USER)),
                extra_html='<p style="font-size:11px">Book {{ first_name }}: '
                           '<a href="https://cal.example/x">calendar</a></p>'), {"photo": photo}),
    ]


def bench_render(n: int, runs: int) -> None:
    from signatures.render import render_signature

    cases = designs()
    inputs = []
    for i in range(n):
        design, images = cases[i % 3]
        profile = {"first_name": f"Name{i}", "last_name": f"Family <{i}>", "job_title": "",
                   "company": "Acme SA", "phone": f"022 {100 + i % 900} {10 + i % 90} {10 + i % 90}",
                   "email": f"user{i}@domain.xyz"}
        values = {"department": f"Team {i % 17} & co", "mobile": "+41 79 123 45 67",
                  "linkedin": f"https://www.linkedin.com/in/u{i}"}
        inputs.append((design, profile, values, images))
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for design, profile, values, images in inputs:
            render_signature(design, profile=profile, user_values=values, images=images,
                             user_done=True)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(f"(a) render + sanitise {n} signatures: median {median * 1000:.0f} ms "
          f"({median / n * 1e6:.0f} µs each), worst {max(times) * 1000:.0f} ms, {runs} runs")


def bench_activation(n: int) -> None:
    call_command("migrate", verbosity=0)
    from mailservice import services as mail
    from mailservice.models import Address, AddressAccess
    from manager.accounts import services as accounts
    from manager.accounts.models import Membership, User
    from signatures import services
    from signatures.models import Signature

    owner = User.objects.create_user("bench@example.org", "bench-password-1")
    organisation = accounts.organisation_create(actor=owner, name="Bench")
    service = mail.mail_service_create(actor=owner, organisation=organisation,
                                       domain="big.example", plan="premium", capacity=n + 5)
    Address.objects.bulk_create(Address(mail_service=service, local_part=f"user{i:05d}")
                                for i in range(n))
    people = User.objects.bulk_create(
        User(email=f"person{i:05d}@people.example", full_name=f"Person {i:05d}",
             phone="+41 22 123 45 67", job_title="Engineer") for i in range(n))
    Membership.objects.bulk_create(Membership(organisation=organisation, user=u) for u in people)
    addresses = list(Address.objects.filter(mail_service=service).order_by("local_part"))
    AddressAccess.objects.bulk_create(AddressAccess(address=a, user=u, permissions=["read"])
                                      for a, u in zip(addresses, people, strict=True))
    template = services.template_create(
        actor=owner, service=service, name="Corporate", layout="simple", publish=True,
        fields=[{"key": k, "source": "auto"} for k in ("first_name", "last_name", "job_title",
                                                       "company", "phone", "email")]
        + [{"key": "department", "source": "user"},
           {"key": "website", "source": "fixed", "value": "https://acme.example/"}])
    _token, raw = accounts.api_token_create(actor=owner, name="bench")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    ids = [a.pk for a in addresses]
    url = f"/api/v1/mail-services/{service.pk}/signature-templates/{template.pk}/activate/"

    start = time.perf_counter()
    response = api.post(url, {"addresses": ids}, format="json")
    posted = time.perf_counter()
    assert response.status_code == 202, response.content[:300]
    job_id = response.json()["id"]
    # The task's body, as the worker runs it (Celery's own eager run would reset the
    # query log between its hooks).
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        services.job_run(job_id)
    ran = time.perf_counter()
    state = api.get(f"/api/v1/signature-jobs/{job_id}/").json()
    end = time.perf_counter()
    assert state["state"] == "done" and state["progress"] == 100, state
    assert Signature.objects.filter(template=template).count() == n
    batches = -(-n // services.jobs.limits.BULK_BATCH_SIZE)
    print(f"(b) activation on {n} addresses ({n} signatures made), end to end "
          f"{(end - start):.2f} s: API POST {(posted - start) * 1000:.0f} ms, job "
          f"{ran - posted:.2f} s ({batches} batches, {len(queries)} queries in all, "
          f"{len(queries) / batches:.0f} per batch: SQLite splits long inserts), job resource GET "
          f"{(end - ran) * 1000:.0f} ms")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--signatures", type=int, default=10_000)
    parser.add_argument("--addresses", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    bench_render(args.signatures, args.runs)
    bench_activation(args.addresses)


if __name__ == "__main__":
    main()

"""API write → effective at Postfix: a change in a served domain (SQL lookup tables, no
reload) beside a new domain (the one case that still reloads Postfix and waits for every
old process to go), in the same run.

Starts its own private Dovecot + Postfix, redis-server and Celery worker (see
push_latency.py's Harness); stops everything by PID. For each change the script writes
through the API (bearer token) and then asks Postfix itself, with SMTP RCPT TO on the
inbound port every 2 ms, until the new address is accepted (250) — what a sending server
would see.

    .venv/bin/python bench/routing_effective.py [--changes 30]
"""

from __future__ import annotations

import argparse
import smtplib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.push_latency import Harness, percentile  # noqa: E402


def accepted(stack, recipient: str) -> bool:
    with smtplib.SMTP(stack.host, stack.smtp_port, timeout=10) as smtp:
        smtp.ehlo()
        smtp.mail("probe@outside.test")
        code, _ = smtp.rcpt(recipient)
        return code == 250


def until_accepted(h, recipient: str, started: float) -> float:
    while not accepted(h.stack, recipient):
        if time.perf_counter() - started > 60:
            sys.exit(f"{recipient} not accepted after 60 s:\n{h.worker.log_tail()}")
        time.sleep(0.002)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=30)
    args = parser.parse_args()

    with Harness() as h:
        from rest_framework.test import APIClient

        from mailservice import services
        from manager.accounts.services import api_token_create
        from tests.factories import make_organisation, make_user

        owner = make_user("bench-owner@example.org")
        org = make_organisation(owner, "Bench")
        service = services.mail_service_create(actor=owner, organisation=org, domain="served.bench.test",
                                               plan="premium", capacity=args.changes + 5)
        address = services.address_create(actor=owner, service=service, local_part="alice")
        _token, raw = api_token_create(actor=owner, name="bench")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        until_accepted(h, address.email, time.perf_counter())  # the domain is served

        served, new_domain = [], []
        for i in range(args.changes):
            started = time.perf_counter()
            response = client.post(f"/api/v1/addresses/{address.pk}/aliases/",
                                   {"local_part": f"alias{i}"}, format="json")
            assert response.status_code == 201, response.content
            served.append(until_accepted(h, f"alias{i}@served.bench.test", started))

            started = time.perf_counter()
            response = client.post("/api/v1/mail-services/", {
                "organisation": org.pk, "domain": f"new{i}.bench.test", "plan": "starter"},
                format="json")
            assert response.status_code == 201, response.content
            response = client.post("/api/v1/addresses/", {
                "mail_service": response.json()["id"], "local_part": "bob"}, format="json")
            assert response.status_code == 201, response.content
            new_domain.append(until_accepted(h, f"bob@new{i}.bench.test", started))

    def ms(values, p):
        return f"{percentile(values, p) * 1000:7.1f} ms"

    print(f"API write → accepted by Postfix at RCPT, {args.changes} changes of each kind")
    print(f"  alias in a served domain (SQL row, no reload) p50 {ms(served, .5)}   p95 {ms(served, .95)}")
    print(f"  new domain + address (reload, wait)          p50 {ms(new_domain, .5)}   "
          f"p95 {ms(new_domain, .95)}")
    print(f"  ratio new domain / served domain (p50)       "
          f"{percentile(new_domain, .5) / percentile(served, .5):.1f}x")


if __name__ == "__main__":
    main()

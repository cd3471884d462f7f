"""Benchmark: delivery log ingestion rate on a generated 1,000,000-line Postfix log (with
its Dovecot log), and the search p50 on the 20 days of a busy service it gives.

Run: .venv/bin/python bench/delivery_log.py   (--lines 1000000 --addresses 200 --runs 20)
Uses a throwaway SQLite database in a temporary MM_VAR_DIR; no daemon is needed (the
lines have the shapes recorded from the local stack in tests/delivery/recorded/)."""
import argparse
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["MM_VAR_DIR"] = tempfile.mkdtemp(prefix="mm-bench-")
os.environ.pop("DATABASE_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "manager.settings")
os.environ.setdefault("SECRET_KEY", "bench-" + secrets.token_urlsafe(32))  # DEBUG off needs a key of its own
os.environ["API_THROTTLE_USER"] = "1000000/min"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

DOMAIN = "busy.example"
SENDERS = [f"news{i}@shop{i % 37}.test" for i in range(300)]
SUBJECTS = ["Invoice {n}", "Weekly report {n}", "Re: meeting {n}", "Newsletter {n}",
            "Votre commande {n}", "Hello {n}"]


def stamp(when: datetime) -> str:
    return when.strftime("%b %d %H:%M:%S")


def queue_id(n: int) -> str:
    digits = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz"
    text = ""
    while n:
        n, rest = divmod(n, len(digits))
        text = digits[rest] + text
    return ("4j" + text.rjust(13, "0"))[:15]


def generate(folder: Path, lines: int, addresses: list[str], now: datetime) -> tuple[Path, Path]:
    """About `lines` Postfix lines over 20 days: deliveries (some filed by a rule, some to
    an alias with two targets), rejections at RCPT, deferrals then deliveries, bounces."""
    rng = random.Random(7)
    postfix, dovecot = folder / "postfix.log", folder / "dovecot.log"
    start = now - timedelta(days=20)
    step = timedelta(days=20) / (lines / 7.5)
    written, n, when = 0, 0, start
    with open(postfix, "w") as pf, open(dovecot, "w") as dv:
        while written < lines:
            n += 1
            when += step
            t = stamp(when)
            sender = rng.choice(SENDERS)
            kind = rng.random()
            if kind < 0.08:
                rcpt = f"nobody{n}@{DOMAIN}"
                pf.write(f"{t} mx postfix/smtpd[1]: connect from unknown[192.0.2.{n % 250}]\n"
                         f"{t} mx postfix/smtpd[1]: NOQUEUE: reject: RCPT from unknown[192.0.2.1]: "
                         f"550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual "
                         f"mailbox table; from=<{sender}> to=<{rcpt}> proto=ESMTP helo=<x>\n"
                         f"{t} mx postfix/smtpd[1]: disconnect from unknown[192.0.2.1] ehlo=1 "
                         "mail=1 rcpt=0/1 quit=1 commands=3/4\n")
                written += 3
                continue
            qid = queue_id(n)
            subject = rng.choice(SUBJECTS).format(n=n)
            rcpts = [rng.choice(addresses)]
            alias = kind < 0.15
            if alias:
                rcpts = rng.sample(addresses, 2)
            pf.write(f"{t} mx postfix/smtpd[1]: connect from unknown[192.0.2.1]\n"
                     f"{t} mx postfix/smtpd[1]: {qid}: client=unknown[192.0.2.1]\n"
                     f"{t} mx postfix/cleanup[2]: {qid}: info: header Subject: {subject} from "
                     f"unknown[192.0.2.1]; from=<{sender}> to=<{rcpts[0]}> proto=ESMTP helo=<x>\n"
                     f"{t} mx postfix/cleanup[2]: {qid}: message-id=<{n}@{sender.split('@')[1]}>\n"
                     f"{t} mx postfix/qmgr[3]: {qid}: from=<{sender}>, size={900 + n % 5000}, "
                     f"nrcpt={len(rcpts)} (queue active)\n"
                     f"{t} mx postfix/smtpd[1]: disconnect from unknown[192.0.2.1] ehlo=1 mail=1 "
                     "rcpt=1 data=1 quit=1 commands=5\n")
            written += 6
            session = f"S{n:020d}A"
            if 0.15 <= kind < 0.19:  # deferred, then delivered at the next attempt
                pf.write(f"{t} mx postfix/lmtp[4]: {qid}: to=<{rcpts[0]}>, relay=127.0.0.1"
                         "[127.0.0.1]:24, delay=0.01, delays=0/0/0/0, dsn=4.2.0, status=deferred "
                         f"(host 127.0.0.1[127.0.0.1] said: 451 4.2.0 <{rcpts[0]}> Internal error "
                         "occurred. (in reply to end of DATA command))\n")
                written += 1
            if 0.21 <= kind < 0.22:  # still deferred at the end
                pf.write(f"{t} mx postfix/lmtp[4]: {qid}: to=<{rcpts[0]}>, relay=127.0.0.1"
                         "[127.0.0.1]:24, delay=0.01, delays=0/0/0/0, dsn=4.2.0, status=deferred "
                         f"(host 127.0.0.1[127.0.0.1] said: 451 4.2.0 <{rcpts[0]}> Internal error "
                         "occurred. (in reply to end of DATA command))\n")
                written += 1
                continue
            if 0.19 <= kind < 0.21:
                pf.write(f"{t} mx postfix/error[5]: {qid}: to=<erin@remote.test>, "
                         f"orig_to=<{rcpts[0]}>, relay=none, delay=0.07, delays=0/0/0/0, "
                         "dsn=5.0.0, status=bounced (outbound mail is disabled)\n"
                         f"{t} mx postfix/qmgr[3]: {qid}: removed\n")
                written += 2
                continue
            for index, rcpt in enumerate(rcpts):
                sid = session + (f":R{index + 1}" if index else "")
                box = "Reports" if "report" in subject else "INBOX"
                dv.write(f"{t} lmtp({rcpt})<9><{sid}>: Info: save: box={box}, uid={n}, "
                         f"msgid=<{n}@x>, size=1000, from={sender}, subject={subject}\n"
                         f"{t} lmtp({rcpt})<9><{sid}>: Info: sieve: msgid=<{n}@x> "
                         f"from_envelope=<{sender}> to_envelope=<{rcpt}> size=1000 "
                         f"delivery_time=3ms storage_id=x: "
                         + (f"fileinto action: stored mail into mailbox '{box}'\n" if box != "INBOX"
                            else "stored mail into mailbox 'INBOX'\n"))
                orig = f", orig_to=<sales@{DOMAIN}>" if alias else ""
                pf.write(f"{t} mx postfix/lmtp[4]: {qid}: to=<{rcpt}>{orig}, relay=127.0.0.1"
                         "[127.0.0.1]:24, delay=0.03, delays=0.01/0.01/0/0.02, dsn=2.0.0, "
                         f"status=sent (250 2.0.0 <{rcpt}> {sid} Saved)\n")
                written += 1
            pf.write(f"{t} mx postfix/qmgr[3]: {qid}: removed\n")
            written += 1
    return postfix, dovecot


def p50(call, runs):
    call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = call()
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.content[:300]
    return statistics.median(times), max(times), response.json()["count"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--addresses", type=int, default=200)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    from mailservice import services
    from mailservice.models import Address, DeliveryEvent
    from mailservice.services.delivery_log import delivery_log_ingest, delivery_log_purge
    from manager.accounts import services as accounts
    from manager.accounts.models import User

    owner = User.objects.create_user("bench@example.org", "bench-password-1")
    organisation = accounts.organisation_create(actor=owner, name="Bench")
    service = services.mail_service_create(actor=owner, organisation=organisation, domain=DOMAIN,
                                           plan="premium", capacity=args.addresses + 5)
    Address.objects.bulk_create(Address(mail_service=service, local_part=f"user{i:04d}")
                                for i in range(args.addresses))
    emails = [f"user{i:04d}@{DOMAIN}" for i in range(args.addresses)]
    now = datetime.now(UTC).replace(microsecond=0)
    folder = Path(os.environ["MM_VAR_DIR"])
    started = time.perf_counter()
    postfix, dovecot = generate(folder, args.lines, emails, now)
    generated = time.perf_counter() - started
    postfix_lines = sum(1 for _ in open(postfix))
    dovecot_lines = sum(1 for _ in open(dovecot))
    print(f"generated {postfix_lines:,} Postfix + {dovecot_lines:,} Dovecot lines "
          f"({postfix.stat().st_size / 2**20:.0f} + {dovecot.stat().st_size / 2**20:.0f} MiB) "
          f"in {generated:.1f} s")

    config = {"postfix_log": str(postfix), "dovecot_log": str(dovecot), "log_time_zone": "UTC"}
    started = time.perf_counter()
    changed = delivery_log_ingest(host="default", config=config, now=now, max_batches=100_000)
    elapsed = time.perf_counter() - started
    events = DeliveryEvent.objects.count()
    print(f"ingestion (SQLite): {events:,} events ({changed:,} writes) in {elapsed:.1f} s = "
          f"{events / elapsed:,.0f} events/s, {(postfix_lines + dovecot_lines) / elapsed:,.0f} "
          "lines/s")
    filed = DeliveryEvent.objects.filter(folder="Reports").count()
    late = DeliveryEvent.objects.filter(status="delivered", folder="").count()
    print(f"  filed into Reports: {filed:,}; delivered without a folder (join missed): {late:,}")

    _token, raw = accounts.api_token_create(actor=owner, name="bench")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    busiest = (DeliveryEvent.objects.filter(address__isnull=False).values("address_id")
               .annotate(n=django.db.models.Count("id")).order_by("-n").first())
    address_url = f"/api/v1/addresses/{busiest['address_id']}/delivery-log/"
    service_url = f"/api/v1/mail-services/{service.pk}/delivery-log/"
    some = DeliveryEvent.objects.exclude(message_id="").order_by("?").first()
    day = (now - timedelta(days=3)).date().isoformat()
    cases = {
        f"address log, page 1 ({busiest['n']:,} events)": lambda: api.get(address_url),
        "address log, sender contains": lambda: api.get(address_url, {"sender": "shop3."}),
        "address log, one day": lambda: api.get(address_url, {"date_from": day, "date_to": day}),
        "service log, page 1": lambda: api.get(service_url),
        "service log, subject contains": lambda: api.get(service_url, {"subject": "invoice 77"}),
        "service log, message-id": lambda: api.get(service_url, {"message_id": some.message_id}),
        "service log, status deferred": lambda: api.get(service_url, {"status": "deferred"}),
        "service log, recipient contains": lambda: api.get(service_url, {"recipient": "user0042"}),
    }
    print(f"search over {events:,} events of 20 days (API, 50 per page, {args.runs} runs), "
          "right after ingestion, then after the hourly purge (which analyses the table):")
    before = {name: p50(call, args.runs) for name, call in cases.items()}
    started = time.perf_counter()
    purged = delivery_log_purge(now=now)
    purge_time = time.perf_counter() - started
    for name, call in cases.items():
        median, worst, count = p50(call, args.runs)
        first = before[name][0]
        print(f"  {name:40} p50 {first * 1000:6.1f} → {median * 1000:6.1f} ms "
              f"(×{first / median:4.1f})  max {worst * 1000:6.1f} ms  ({count:,} matches)")
    print(f"  (the purge removed {purged:,} events and analysed the table in {purge_time:.2f} s)")


if __name__ == "__main__":
    main()

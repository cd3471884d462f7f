"""Sorting rules: compiling 1,000 rules, and a rule change through the API → mail sorted.

(a) In-process: `compile_rules()` on 1,000 varied standard rules (every field and
    operator, 1-3 conditions, 1-2 actions; median of --runs runs), and Dovecot's own
    check of the resulting script (`check_script()`, i.e. sievec; median of 5 runs).
(b) The whole pipeline, with its own private Dovecot + Postfix, redis-server and Celery
    worker (solo pool) and a throwaway SQLite database (bench/push_latency.py's Harness).
    For each of --changes changes: POST /api/v1/addresses/{id}/rules/ (bearer token) with
    a new rule "From contains sender<i>.example → move to bench/f<i>"; poll
    GET /api/v1/mail-services/{id}/sync/ until `applied` with a newer `last_applied`
    ("applied"); deliver one message from that sender by SMTP (from 127.0.0.77, as a
    remote MTA); poll folder bench/f<i> over IMAP (one logged-in session) until the
    message is there ("in folder"). Rules accumulate: change i pushes i rules.

    .venv/bin/python bench/rules.py [--rules 1000] [--runs 7] [--changes 20]
"""

from __future__ import annotations

import argparse
import imaplib
import smtplib
import statistics
import sys
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from push_latency import Harness, percentile  # noqa: E402

REMOTE_SOURCE = "127.0.0.77"  # Postfix treats 127.0.0.1 as local and rewrites headers


def many_rules(n: int):
    """`n` valid, varied standard rules (pure data, like the form would produce)."""
    from mailservice.sieve.rules import Action, Condition, Rule

    text_fields = ("from", "to", "cc", "reply_to", "subject")
    operators = ("contains", "not_contains", "is", "is_not", "matches", "regex", "exists")
    values = {"contains": "example{i}.com", "not_contains": "Newsletter \"{i}\"",
              "is": "user{i}@example.org", "is_not": "noreply{i}@example.net",
              "matches": "*@list{i}.example.*", "regex": "^(Re|Fwd): \\[ticket-{i}\\]",
              "exists": ""}
    rules = []
    for i in range(n):
        conditions = []
        for k in range(1 + i % 3):
            j = i + 7 * k
            kind = j % 10
            if kind == 7:
                conditions.append(Condition("size", ("over", "under")[j % 2], f"{1 + j % 900}K"))
            elif kind == 8:
                conditions.append(Condition("body", "contains", f"order #{j}"))
            elif kind == 9:
                conditions.append(Condition("email_type", "is",
                                            ("ham", "spam", "transactional", "bounce")[j % 4]))
            else:
                operator = operators[j % len(operators)]
                conditions.append(Condition(text_fields[j % len(text_fields)], operator,
                                            values[operator].format(i=j)))
        actions = [(Action("move", f"Archive/{2000 + i % 27}/Box {i}"),
                    Action("copy", f"Copies/c{i % 50}"),
                    Action("mark_read"), Action("flag"), Action("delete"))[i % 5]]
        if i < 4:
            actions.append(Action("forward", f"team{i}@example.org", keep_copy=True))
        if i % 11 == 0:
            actions.append(Action("stop"))
        rules.append(Rule(name=f"Rule {i}", enabled=i % 13 != 0, match=("all", "any")[i % 2],
                          conditions=tuple(conditions), actions=tuple(actions)))
    return rules


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def bench_compile(n: int, runs: int) -> dict:
    from mailservice.pigeonhole import check_script
    from mailservice.sieve.compiler import compile_rules

    rules = many_rules(n)
    script, _ = timed(compile_rules, rules)
    compile_times = [timed(compile_rules, rules)[1] for _ in range(runs)]
    assert all(compile_rules(rules) == script for _ in range(2)), "not deterministic"
    check_times = []
    for _ in range(5):
        errors, seconds = timed(check_script, script.text)
        assert errors == [], errors[:3]
        check_times.append(seconds)
    return {"rules": n, "bytes": len(script.data), "lines": script.text.count("\n"),
            "extensions": script.extensions, "compile": compile_times, "check": check_times}


def bench_change_to_sorted(h, changes: int) -> dict:
    from rest_framework.test import APIClient

    from mailservice import services
    from manager.accounts.services import api_token_create
    from tests.factories import make_organisation, make_user

    owner = make_user("bench-owner@example.org")
    org = make_organisation(owner, "Bench")
    service = services.mail_service_create(actor=owner, organisation=org,
                                           domain="rules.bench.test", plan="premium")
    address = services.address_create(actor=owner, service=service, local_part="alice")
    services.access_grant(actor=owner, address=address, user=owner, permissions=["read", "send"])
    _device, password = services.device_password_create(actor=owner, address=address, name="bench")
    _token, raw = api_token_create(actor=owner, name="bench")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    def sync() -> dict:
        response = client.get(f"/api/v1/mail-services/{service.pk}/sync/")
        assert response.status_code == 200, response.content
        return response.json()

    def wait_applied(after: str | None, deadline: float) -> dict:
        while True:
            body = sync()
            if body["sync_status"] == "applied" and body["last_applied"] != after:
                return body
            if body["sync_status"] == "failed" or time.perf_counter() > deadline:
                sys.exit(f"push not applied: {body}\n{h.worker.log_tail()}")
            time.sleep(0.005)

    last = wait_applied(None, time.perf_counter() + 30)["last_applied"]
    imap = imaplib.IMAP4(h.stack.host, h.stack.imap_port, timeout=30)
    imap.login(address.email, password)

    api_times, applied, in_folder, deliver_to_folder = [], [], [], []
    for i in range(changes):
        sender, folder = f"news@sender{i}.example", f"bench/f{i:02d}"
        started = time.perf_counter()
        response = client.post(f"/api/v1/addresses/{address.pk}/rules/", {
            "name": f"Sender {i}",
            "conditions": [{"field": "from", "operator": "contains", "value": f"sender{i}.example"}],
            "actions": [{"kind": "move", "argument": folder}]}, format="json")
        api_times.append(time.perf_counter() - started)
        assert response.status_code == 201, response.content
        last = wait_applied(last, started + 30)["last_applied"]
        applied.append(time.perf_counter() - started)

        delivering = time.perf_counter()
        message = EmailMessage()
        message["From"], message["To"] = sender, address.email
        message["Subject"] = f"change {i}"
        message["Message-ID"] = message_id = f"<{uuid.uuid4().hex}@bench.test>"
        message.set_content("sorted?\n")
        with smtplib.SMTP(h.stack.host, h.stack.smtp_port, timeout=30,
                          source_address=(REMOTE_SOURCE, 0)) as smtp:
            smtp.send_message(message, from_addr=sender, to_addrs=[address.email])
        deadline = time.perf_counter() + 30
        while True:
            status, _ = imap.select(f'"{folder}"', readonly=True)
            if status == "OK":
                _, data = imap.search(None, "HEADER", "Message-ID", message_id)
                if data[0].split():
                    break
            if time.perf_counter() > deadline:
                sys.exit(f"change {i}: message not in {folder} after 30 s")
            time.sleep(0.005)
        done = time.perf_counter()
        in_folder.append(done - started)
        deliver_to_folder.append(done - delivering)
    imap.select("INBOX", readonly=True)
    _, data = imap.search(None, "ALL")
    assert not data[0].split(), "a message was not sorted"
    imap.logout()
    return {"api": api_times, "applied": applied, "in_folder": in_folder,
            "deliver": deliver_to_folder}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--changes", type=int, default=20)
    args = parser.parse_args()

    with Harness() as h:
        compiled = bench_compile(args.rules, args.runs)
        pipeline = bench_change_to_sorted(h, args.changes)

    ms = 1000
    print(f"compile_rules(): {compiled['rules']} rules → {compiled['lines']} lines, "
          f"{compiled['bytes'] / 1024:.0f} KiB, require {', '.join(compiled['extensions'])}")
    print(f"  compile_rules()        median {statistics.median(compiled['compile']) * ms:7.1f} ms"
          f"   min {min(compiled['compile']) * ms:7.1f} ms   ({args.runs} runs)")
    print(f"  check_script() (sievec) median {statistics.median(compiled['check']) * ms:6.1f} ms"
          f"   min {min(compiled['check']) * ms:7.1f} ms   (5 runs)")

    def row(label, values):
        print(f"  {label:34} p50 {percentile(values, .5) * ms:7.1f} ms   "
              f"p95 {percentile(values, .95) * ms:7.1f} ms   max {max(values) * ms:7.1f} ms")

    print(f"rule change through the API → next message sorted by it ({args.changes} changes)")
    row("API call (POST rules/)", pipeline["api"])
    row("rule change → push applied", pipeline["applied"])
    row("rule change → message in folder", pipeline["in_folder"])
    row("  of which SMTP delivery → folder", pipeline["deliver"])


if __name__ == "__main__":
    main()

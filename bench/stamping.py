"""Benchmark: the signature milter's cost per message.

A private local stack (real Postfix + Dovecot SASL + OpenDKIM + the sender check + the
signature milter, scripts/localstack.py) serves one domain, applied through the adapter
with a DKIM key and a signature for alice@. alice submits --messages messages
(multipart/alternative, ~2 KB, plus one 100 KB attachment every tenth) in one
authenticated SMTP session per mode and round (the modes interleaved in --rounds
rounds, as the machine's load drifts), and each DATA's time to Postfix's 250 is taken
(every milter has answered by then):

  stamped     the milter runs and stamps alice's signature;
  passed      the milter runs, alice has no signature in its file (the transport alone);
  no milter   the milter is stopped: Postfix fails to connect and goes on
              (default_action=accept) — what the submission costs without it.

Then the pure stamping function alone (signatures.stamp.stamp) on the same messages, in
this process. Prints p50/p95 per mode and the ratios. Same run, same machine.

    .venv/bin/python bench/stamping.py [--messages 300] [--rounds 6]
"""
import argparse
import hashlib
import shutil
import smtplib
import statistics
import sys
import tempfile
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

from mailservice.backends.base import (  # noqa: E402
    DevicePasswordState,
    DkimState,
    MailboxState,
    ServiceState,
    StampState,
)
from scripts.localstack import MailStack  # noqa: E402
from signatures.stamp import Signature, stamp  # noqa: E402

DOMAIN = "bench-stamp.test"
TOKEN = "bench-device-password-0123456789"
SIGNATURE_HTML = (ROOT / "tests/signatures/golden/simple.html").read_text().strip()
SIGNATURE_TEXT = (ROOT / "tests/signatures/golden/simple.txt").read_text()
PARAGRAPH = "The figures for the quarter are in; we are on plan for the launch. " * 4


def message(index: int) -> EmailMessage:
    m = EmailMessage()
    m["From"], m["To"] = f"Alice <alice@{DOMAIN}>", f"bob@{DOMAIN}"
    m["Subject"] = f"Bench {index}"
    m["Message-ID"] = f"<{uuid.uuid4().hex}@{DOMAIN}>"
    text = "\n\n".join([PARAGRAPH] * 6)
    m.set_content(f"Hello Bob,\n\n{text}\n")
    m.add_alternative(f"<html><body><p>Hello Bob,</p><p>{text}</p></body></html>\n",
                      subtype="html")
    if index % 10 == 0:
        m.add_attachment(bytes(range(256)) * 400, maintype="application", subtype="pdf",
                         filename="figures.pdf")
    return m


def state(with_signature: bool) -> ServiceState:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return ServiceState(
        domain=DOMAIN,
        mailboxes=tuple(MailboxState(email=f"{n}@{DOMAIN}", enabled=True, quota_mb=0,
                                     sieve_script=None) for n in ("alice", "bob")),
        device_passwords=(DevicePasswordState(
            ref=str(uuid.uuid4()), email=f"alice@{DOMAIN}",
            token_sha256=hashlib.sha256(TOKEN.encode()).hexdigest(), can_send=True),),
        dkim=DkimState(selector="bench", private_key=pem),
        stamps=(StampState(email=f"alice@{DOMAIN}", html=SIGNATURE_HTML,
                           text=SIGNATURE_TEXT),) if with_signature else ())


def submit_all(stack, messages) -> list[float]:
    times = []
    with smtplib.SMTP(stack.host, stack.submission_port, timeout=60) as smtp:
        smtp.login(f"alice@{DOMAIN}", TOKEN)
        for m in messages:
            start = time.perf_counter()
            smtp.send_message(m)
            times.append(time.perf_counter() - start)
    return times


def warm_up(stack, deadline=60.0) -> None:
    """Until Postfix's processes serve the new domain (a moment after the reload)."""
    end = time.monotonic() + deadline
    while True:
        try:
            submit_all(stack, [message(1)])
            return
        except (smtplib.SMTPException, OSError):
            if time.monotonic() > end:
                raise
            time.sleep(0.2)


def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def line(name, values, unit=1000.0):
    return (f"  {name:<15} p50 {statistics.median(values) * unit:7.2f} ms   "
            f"p95 {pct(values, 0.95) * unit:7.2f} ms   (n={len(values)})")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    messages = [message(i) for i in range(args.messages)]
    root = Path(tempfile.mkdtemp(prefix="mm-bench-stamp-", dir="/tmp"))
    stack = MailStack.start(root)
    results = {"stamped": [], "passed": [], "no milter": []}
    rounds = max(1, args.rounds)
    try:
        backend = stack.backend()
        stamped_state = state(True)
        passed_state = ServiceState(**{**stamped_state.__dict__, "stamps": ()})
        backend.apply(stamped_state)
        warm_up(stack)
        # Modes interleaved in rounds: the machine's load changes during a run.
        for turn in range(rounds):
            batch = messages[turn::rounds]
            backend.apply(stamped_state)
            results["stamped"] += submit_all(stack, batch)
            backend.apply(passed_state)
            results["passed"] += submit_all(stack, batch)
            stack.stop_stamping()
            results["no milter"] += submit_all(stack, batch)
            stack.start_stamping()
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)

    signature = Signature(SIGNATURE_HTML, SIGNATURE_TEXT, "bench")
    raws = [m.as_bytes().replace(b"\n", b"\r\n") for m in messages]
    pure = {"alternative": [], "with attachment": []}
    for _ in range(3):
        for index, raw in enumerate(raws):
            start = time.perf_counter()
            outcome = stamp(raw, signature)
            pure["with attachment" if index % 10 == 0 else "alternative"].append(
                time.perf_counter() - start)
            assert outcome.changed, outcome.reason

    print(f"Submission (one SMTP session, {args.messages} messages per mode, DATA → 250):")
    for name, values in results.items():
        print(line(name, values))
    print("The pure stamping function alone (in process):")
    for name, values in pure.items():
        print(line(name, values))
    all_pure = [*pure["alternative"], *pure["with attachment"]]
    base = statistics.median(results["no milter"])
    for name in ("stamped", "passed"):
        extra = statistics.median(results[name]) - base
        print(f"  {name} / no milter: x{statistics.median(results[name]) / base:.2f} "
              f"(+{extra * 1000:.2f} ms per message at p50)")
    print(f"  stamp() share of the stamped submission: "
          f"{statistics.median(all_pure) / statistics.median(results['stamped']) * 100:.1f} %")


if __name__ == "__main__":
    main()

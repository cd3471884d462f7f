#!/usr/bin/env python3
"""Run a private Dovecot + Postfix stack on loopback until interrupted.

    python scripts/mailstack.py start DIR

prints the ports and paths as JSON (also written to DIR/stack.json) and keeps running
until SIGTERM or Ctrl-C, then stops both daemons by PID. Point an IMAP client at
127.0.0.1:<imap_port>; push a service with the adapter built from the same config.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mailservice.backends.base import BackendError  # noqa: E402
from scripts.localstack import MailStack  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="start the stack and run until SIGTERM/Ctrl-C")
    start.add_argument("dir", type=Path, help="directory for configs, mail, queue and logs")
    start.add_argument("--policy-url", help="Mail Manager's Dovecot auth policy endpoint")
    start.add_argument("--policy-secret", default=os.environ.get("MAIL_POLICY_SECRET", ""),
                       help="shared secret sent to the policy endpoint (default: $MAIL_POLICY_SECRET)")
    start.add_argument("--maps-database-url", default=os.environ.get("MAIL_MAPS_DATABASE_URL"),
                       help="PostgreSQL database for Postfix's lookup tables instead of the "
                            "embedded SQLite file (default: $MAIL_MAPS_DATABASE_URL)")
    start.add_argument("--maps-reader-url", default=os.environ.get("MAIL_MAPS_READER_URL"),
                       help="the same database as a role that may only SELECT, for Postfix "
                            "(default: $MAIL_MAPS_READER_URL, else the writer's URL)")
    args = parser.parse_args(argv)
    policy = (args.policy_url, args.policy_secret) if args.policy_url else None

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    try:
        stack = MailStack.start(args.dir, policy=policy, maps_database_url=args.maps_database_url,
                                maps_reader_url=args.maps_reader_url)
    except BackendError as exc:
        print(f"mailstack: {exc}", file=sys.stderr)
        return 1
    try:
        print(json.dumps(stack.to_json(), indent=2), flush=True)
        stop.wait()
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""A private Knot DNS on a free loopback port, for tests and for trying the product.

    python scripts/localdns.py start DIR

prints the port, TSIG key and control socket as JSON (also written to DIR/stack.json,
which the adapter reads: DNS_BACKEND_CONFIG) and runs until SIGTERM or Ctrl-C, then
stops Knot by PID. Query it with `kdig @127.0.0.1 -p PORT example.org SOA`.

Everything lives under DIR: knot.conf, the configuration database it is imported into
(zones created at runtime are kept there), the journal that holds the zones' contents
(journal-only mode: no zone files), the control socket and the log. Started again on the
same DIR, Knot serves the same zones with the same key, on the same port if it is free.
Knot runs in the foreground as a child process, so the PID held is the daemon's.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import dns.tsig

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dnszones.backends.base import DnsBackendError  # noqa: E402
from dnszones.backends.knot import KnotBackend, KnotConfig  # noqa: E402
from dnszones.backends.knot_control import KnotControl  # noqa: E402

HOST = "127.0.0.1"
TSIG_NAME = "mail-manager-push"
REQUIRED_BINARIES = ("knotd", "knotc")
_SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes


def missing_binaries() -> list[str]:
    return [name for name in REQUIRED_BINARIES if _find(name) is None]


def _find(name: str) -> str | None:
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin", "/sbin"])
    return shutil.which(name, path=search)


def _which(name: str) -> str:
    path = _find(name)
    if path is None:
        raise DnsBackendError(
            f"{name}: not installed (see scripts/install-system-packages.sh)", permanent=True
        )
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def render_knot_conf(*, root: Path, port: int, control_socket: Path, tsig_secret: str) -> str:
    return f"""# Mail Manager local DNS: private Knot. Generated; imported into {root}/confdb.
server:
    rundir: "{root}/run"
    listen: "{HOST}@{port}"

log:
  - target: stdout
    any: info

control:
    listen: "{control_socket}"

database:
    storage: "{root}/db"
    # LMDB map sizes are reserved address space; keep them small for a test server.
    journal-db-max-size: 1G
    timer-db-max-size: 16M
    kasp-db-max-size: 16M

key:
  - id: {TSIG_NAME}
    algorithm: hmac-sha256
    secret: {tsig_secret}

acl:
  - id: push
    key: {TSIG_NAME}
    action: [update, transfer]

template:
  - id: default
    storage: "{root}/zones"
    acl: push
    # Journal-only: the contents live in the journal, there are no zone files to keep in
    # step (the pushed records survive a restart; verified).
    journal-content: all
    zonefile-load: none
    zonefile-sync: -1
"""


@dataclass
class DnsStack:
    root: Path
    port: int
    tsig_secret: str
    control_socket: Path
    host: str = HOST
    tsig_name: str = TSIG_NAME
    _knotd: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def pid(self) -> int | None:
        return self._knotd.pid if self._knotd and self._knotd.poll() is None else None

    @property
    def tsig(self) -> dns.tsig.Key:
        """The push key, as dnspython signs with it."""
        return dns.tsig.Key(self.tsig_name, self.tsig_secret, dns.tsig.HMAC_SHA256)

    @property
    def confdb(self) -> Path:
        return self.root / "confdb"

    @classmethod
    def start(cls, root: Path, *, timeout: float = 20.0) -> DnsStack:
        """Configure Knot under ``root`` (keeping the zones of an earlier run there), start
        it and wait until it answers on its port and its control socket."""
        knotd, knotc = _which("knotd"), _which("knotc")
        root = Path(root).resolve()
        for sub in ("run", "db", "zones", "log"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        previous = _read_json(root / "knot-identity.json")
        control_socket = root / "run/knot.sock"
        if len(str(control_socket)) > _SOCKET_PATH_MAX:
            control_socket = Path(tempfile.mkdtemp(prefix="mmk-", dir="/tmp")) / "knot.sock"
        secret = previous.get("tsig_secret") or base64.b64encode(secrets.token_bytes(32)).decode()
        keep = bool(previous) and (root / "confdb/data.mdb").exists()
        # A free port can be taken by someone else before Knot binds it: try again.
        for attempt in range(3):
            port = previous.get("port") if keep and attempt == 0 else _free_port()
            stack = cls(root=root, port=port, tsig_secret=secret, control_socket=control_socket)
            stack._configure(knotc, keep=keep, old_port=previous.get("port"),
                             old_socket=previous.get("control_socket"))
            try:
                stack._start_daemon(knotd, timeout)
                break
            except DnsBackendError:
                stack.stop()
                if attempt == 2 or "address already in use" not in stack._log_tail():
                    raise
        (root / "knot-identity.json").write_text(json.dumps(
            {"port": stack.port, "tsig_secret": secret, "control_socket": str(control_socket)}))
        stack._write_stack_json()
        return stack

    def _configure(self, knotc: str, *, keep: bool, old_port, old_socket) -> None:
        conf = render_knot_conf(root=self.root, port=self.port,
                                control_socket=self.control_socket, tsig_secret=self.tsig_secret)
        (self.root / "knot.conf").write_text(conf)
        os.chmod(self.root / "knot.conf", 0o600)  # holds the TSIG secret
        if keep and old_port == self.port and old_socket == str(self.control_socket):
            return  # the configuration database already says all this, and holds the zones
        if keep:
            # Same zones, new port or socket: carry the zones over into the new config.
            exported = self.root / "confdb-export.conf"
            _run([knotc, "-C", str(self.confdb), "conf-export", str(exported)])
            text = exported.read_text()
            _, sep, zones = text.partition("\nzone:\n")
            conf += (sep + zones) if sep else ""
            (self.root / "knot.conf").write_text(conf)
            exported.unlink()
        shutil.rmtree(self.confdb, ignore_errors=True)
        _run([knotc, "-C", str(self.confdb), "conf-import", str(self.root / "knot.conf")])

    def _start_daemon(self, knotd: str, timeout: float) -> None:
        with open(self.root / "log/knotd.log", "ab") as out:
            # Own session: a Ctrl-C meant for the caller must not reach Knot directly.
            self._knotd = subprocess.Popen(
                [knotd, "-C", str(self.confdb)], stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        control = self.control()
        deadline = time.monotonic() + timeout
        while True:
            if self._knotd.poll() is not None:
                raise DnsBackendError(
                    f"knotd exited with status {self._knotd.returncode} during startup:\n"
                    f"{self._log_tail()}", permanent=True)
            if self._listening() and self._control_answers(control):
                return
            if time.monotonic() > deadline:
                raise DnsBackendError(f"knotd not ready after {timeout}s:\n{self._log_tail()}",
                                      permanent=False)
            time.sleep(0.05)

    def _listening(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.2):
                return True
        except OSError:
            return False

    @staticmethod
    def _control_answers(control: KnotControl) -> bool:
        try:
            return "Running" in control.status()
        except DnsBackendError:
            return False

    def restart(self, timeout: float = 20.0) -> None:
        """Stop Knot and start it again from the same configuration database."""
        self.stop()
        self._start_daemon(_which("knotd"), timeout)
        self._write_stack_json()

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM Knot by PID and wait; SIGKILL it if it is still there after ``timeout``."""
        proc, self._knotd = self._knotd, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(timeout=timeout)

    def _log_tail(self, lines: int = 20) -> str:
        path = self.root / "log/knotd.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def control(self) -> KnotControl:
        return KnotControl(self.control_socket, knotc=_which("knotc"), timeout=5.0)

    def config(self) -> KnotConfig:
        return KnotConfig.from_dict(self.to_json())

    def backend(self) -> KnotBackend:
        return KnotBackend(self.config())

    def to_json(self) -> dict:
        return {
            "host": self.host,
            "port": self.port,
            "tsig_name": self.tsig_name,
            "tsig_algorithm": "hmac-sha256",
            "tsig_secret": self.tsig_secret,
            "control_socket": str(self.control_socket),
            "knotc": _find("knotc") or "knotc",
            "root": str(self.root),
            "pid": self.pid,
            "log": str(self.root / "log/knotd.log"),
        }

    def _write_stack_json(self) -> None:
        path = self.root / "stack.json"
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        os.chmod(path, 0o600)  # holds the TSIG secret

    def __enter__(self) -> DnsStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}


def _run(argv: list[str]) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    output = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0 or output.startswith("error:"):
        raise DnsBackendError(f"{' '.join(argv[1:4])}: {output}", permanent=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="start Knot and run until SIGTERM/Ctrl-C")
    start.add_argument("dir", type=Path, help="directory for config, zones, journal and log")
    args = parser.parse_args(argv)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    try:
        stack = DnsStack.start(args.dir)
    except DnsBackendError as exc:
        print(f"localdns: {exc}", file=sys.stderr)
        return 1
    try:
        shown = {k: v for k, v in stack.to_json().items() if k != "tsig_secret"}
        print(json.dumps(shown, indent=2), flush=True)
        stop.wait()
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

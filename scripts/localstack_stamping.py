"""The local stack's signature milter (signatures/milter.py; BACKENDS-2.md §1), kept apart
from scripts/localstack.py, which calls these few functions.

The milter runs on the submission service only, after the sender check and before the
DKIM signer (OpenDKIM then signs the stamped body), on a UNIX socket, with
`default_action=accept`: stopped, mail flows unstamped. It reads the signature file the
adapter writes from each service's desired state (mailservice/backends/signature_file.py),
named to the adapter as `signatures_file` in stack.json.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from mailservice.backends.base import BackendError

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class StampingPaths:
    run_dir: Path  # the socket's folder: root's, entered by Postfix's group only
    data_file: Path

    @property
    def socket(self) -> Path:
        return self.run_dir / "signature.sock"


def stamping_paths(root: Path, base_dir: Path) -> StampingPaths:
    # The socket lives in the short base_dir (108-byte limit of UNIX socket paths).
    return StampingPaths(run_dir=base_dir / "sig", data_file=root / "signatures/signatures.json")


def render_postfix_stamping(paths: StampingPaths) -> str:
    """main.cf lines: the milter the submission service names before the DKIM signer
    (localstack_sender.submission_sender_checks). Its own failure policy: accept."""
    return f"""
# --- Signature stamping ---
signature_milters = {{ unix:{paths.socket}, default_action=accept }}
"""


def configure_stamping(root: Path, base_dir: Path, postfix_dir: Path) -> StampingPaths:
    paths = stamping_paths(root, base_dir)
    paths.data_file.parent.mkdir(parents=True, exist_ok=True)
    if not paths.data_file.exists():
        paths.data_file.write_text("{}\n")
    paths.run_dir.mkdir(exist_ok=True)
    os.chown(paths.run_dir, os.geteuid(), pwd.getpwnam("postfix").pw_gid)
    os.chmod(paths.run_dir, 0o750)
    with open(postfix_dir / "main.cf", "a") as main_cf:
        main_cf.write(render_postfix_stamping(paths))
    return paths


def start_stamping(paths: StampingPaths, spawn, timeout: float) -> subprocess.Popen:
    """Start the milter (`spawn` is the stack's, logging to log/signature-milter.out) and
    wait for its socket."""
    with contextlib.suppress(FileNotFoundError):
        paths.socket.unlink()
    proc = spawn([sys.executable, "-m", "signatures.milter", "--socket", str(paths.socket),
                  "--data", str(paths.data_file)], "signature-milter.out", cwd=REPO)
    deadline = time.monotonic() + timeout
    while not paths.socket.exists():
        if proc.poll() is not None:
            raise BackendError(f"signature milter exited with status {proc.returncode} "
                               "during startup", permanent=True)
        if time.monotonic() > deadline:
            raise BackendError(f"signature milter made no socket after {timeout}s",
                               permanent=False)
        time.sleep(0.05)
    return proc

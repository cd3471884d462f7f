"""The local stack's DKIM signer, OpenDKIM (BACKENDS-2.md §2), kept apart from
scripts/localstack.py, which calls these few functions.

OpenDKIM signs what authenticated users submit: a milter on the submission service only,
after the sender check and the signature milter
(localstack_sender.submission_sender_checks).
Its KeyTable, SigningTable and key files are written by the adapter
(mailservice/backends/dkim_tables.py) from each service's desired state, which then
signals SIGUSR1 by the pid file: a new domain is signed without a restart.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mailservice.backends.base import BackendError

OPENDKIM_USER = "opendkim"


@dataclass(frozen=True)
class OpenDkimPaths:
    conf: Path
    tables_dir: Path  # KeyTable, SigningTable: no secrets, readable by OpenDKIM
    # The private keys: 0700, owned by OpenDKIM's user, and not under /tmp: OpenDKIM's
    # RequireSafeKeys refuses (tempfails the message) a key under a world-writable folder.
    keys_dir: Path
    run_dir: Path  # socket and pid file: OpenDKIM's, entered by Postfix's group

    @property
    def socket(self) -> Path:
        return self.run_dir / "opendkim.sock"

    @property
    def pid_file(self) -> Path:
        return self.run_dir / "opendkim.pid"


def opendkim_paths(root: Path, base_dir: Path, keys_dir: Path) -> OpenDkimPaths:
    # The socket lives in the short base_dir (108-byte limit of UNIX socket paths).
    return OpenDkimPaths(conf=root / "opendkim/opendkim.conf", tables_dir=root / "opendkim",
                         keys_dir=keys_dir, run_dir=base_dir / "odk")


def render_opendkim_conf(paths: OpenDkimPaths) -> str:
    return f"""# Mail Manager local stack: private OpenDKIM. Generated.
# Sign only: the milter runs on the submission service, where every client authenticated.
Mode s
Canonicalization relaxed/simple
OversignHeaders From
KeyTable file:{paths.tables_dir}/KeyTable
SigningTable refile:{paths.tables_dir}/SigningTable
Socket local:{paths.socket}
PidFile {paths.pid_file}
UserID {OPENDKIM_USER}
# The socket's group is Postfix's (the folder is setgid postfix): Postfix connects.
UMask 007
# In the foreground, a child of the stack, stopped by PID. It logs to syslog only.
Background no
Syslog yes
"""


def render_postfix_dkim(paths: OpenDkimPaths) -> str:
    """main.cf lines: the submission service's milters (master.cf names the parameter).
    `default_action=accept`: should OpenDKIM be down, mail goes out unsigned rather than
    every submission being refused (451 at connect)."""
    return f"""
# --- DKIM signing ---
submission_milters = {{ unix:{paths.socket}, default_action=accept }}
"""


def prepare_opendkim(paths: OpenDkimPaths) -> None:
    """Folders with the owners and modes OpenDKIM and Postfix need, and empty tables."""
    dkim_user = pwd.getpwnam(OPENDKIM_USER)
    postfix_gid = pwd.getpwnam("postfix").pw_gid
    paths.tables_dir.mkdir(parents=True, exist_ok=True)
    for table in ("KeyTable", "SigningTable"):
        (paths.tables_dir / table).touch()
    paths.keys_dir.mkdir(parents=True, exist_ok=True)
    os.chown(paths.keys_dir, dkim_user.pw_uid, dkim_user.pw_gid)
    os.chmod(paths.keys_dir, 0o700)
    paths.run_dir.mkdir(exist_ok=True)
    os.chown(paths.run_dir, dkim_user.pw_uid, postfix_gid)
    os.chmod(paths.run_dir, 0o2750)
    paths.conf.write_text(render_opendkim_conf(paths))


def configure_opendkim(root: Path, base_dir: Path, postfix_dir: Path) -> OpenDkimPaths:
    paths = opendkim_paths(root, base_dir, dkim_keys_dir(root))
    prepare_opendkim(paths)
    with open(postfix_dir / "main.cf", "a") as main_cf:
        main_cf.write(render_postfix_dkim(paths))
    return paths


DKIM_KEYS_PARENT = Path("/var/lib/mail-manager-localstack")


def dkim_keys_dir(root: Path) -> Path:
    """The stack's key folder, under parents only root can write (the stack's own root is
    usually under /tmp); named after the root's path, removed when the stack stops."""
    tag = hashlib.sha256(str(root).encode()).hexdigest()[:12]
    return DKIM_KEYS_PARENT / f"{root.name}-{tag}" / "keys"



def opendkim_command(opendkim: str, paths: OpenDkimPaths) -> list[str]:
    """OpenDKIM in the foreground, a child of the stack (`opendkim`: the binary's path)."""
    return [opendkim, "-f", "-x", str(paths.conf)]


def wait_for_opendkim(paths: OpenDkimPaths, proc: subprocess.Popen, timeout: float,
                      log_tail: Callable[[], str]) -> None:
    """Until OpenDKIM made its socket; `log_tail` tells why it exited, if it did."""
    deadline = time.monotonic() + timeout
    while not paths.socket.exists():
        if proc.poll() is not None:
            raise BackendError(f"opendkim exited with status {proc.returncode} "
                               f"during startup:\n{log_tail()}", permanent=True)
        if time.monotonic() > deadline:
            raise BackendError(f"opendkim made no socket after {timeout}s", permanent=False)
        time.sleep(0.05)


def remove_keys(paths: OpenDkimPaths) -> None:
    """The stack's key folder goes with the stack (dkim_keys_dir)."""
    shutil.rmtree(paths.keys_dir.parent, ignore_errors=True)

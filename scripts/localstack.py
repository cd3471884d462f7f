"""A private Dovecot + Postfix pair on free loopback ports, for tests and for trying the product.

Everything lives under one root directory (configs, user database, maps, mail, queue,
logs) except Dovecot's base_dir, which holds UNIX sockets and must stay short (108-byte
path limit), so it is a small directory of its own under /tmp. Daemons are started in
the background and stopped by PID; nothing in /etc is read or changed.

`MailStack` composes the parts kept in sibling modules: the DKIM signer (localstack_dkim),
the quotas and their check at RCPT (localstack_quota), the check that senders are limited
to the login (localstack_sender), the signature milter (localstack_stamping) and the
delivery log's settings (localstack_logging).
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from mailservice.backends.base import BackendError
from mailservice.backends.dovecot_postfix import DovecotPostfixBackend, DovecotPostfixConfig
from mailservice.backends.render import render_dovecot_sql_conf
from scripts import (
    localstack_dkim,
    localstack_logging,
    localstack_quota,
    localstack_sender,
    localstack_stamping,
)
from scripts.localstack_config import (
    HOST,
    VMAIL_UID,
    render_dovecot_conf,
    render_postfix_main_cf,
    render_postfix_master_cf,
)

REQUIRED_BINARIES = ("dovecot", "doveadm", "postfix", "postconf", "sievec", "opendkim")
# Postfix's SQL lookup table types, from the postfix-sqlite / postfix-pgsql packages.
DYNAMIC_MAPS = Path("/etc/postfix/dynamicmaps.cf")
PORT_NAMES = ("imap", "lmtp", "managesieve", "smtp", "submission", "reinject", "milter")


def missing_binaries(*, map_types: tuple[str, ...] = ("sqlite",)) -> list[str]:
    """The daemons, tools and Postfix map types this stack needs that are not installed."""
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin", "/sbin"])
    missing = [name for name in REQUIRED_BINARIES if shutil.which(name, path=search) is None]
    try:
        registered = {line.split()[0] for line in DYNAMIC_MAPS.read_text().splitlines()
                      if line.strip() and not line.startswith("#")}
    except OSError:
        registered = set()
    return missing + [f"postfix-{kind}" for kind in map_types if kind not in registered]


def _which(name: str) -> str:
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin", "/sbin"])
    path = shutil.which(name, path=search)
    if path is None:
        raise BackendError(
            f"{name}: not installed (see scripts/install-system-packages.sh)", permanent=True
        )
    return path


def _free_ports(count: int) -> list[int]:
    # Hold all sockets until every port is chosen so that no two names get the same port.
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _check_reachable(path: Path) -> None:
    """Dovecot's mail processes (uid 5000) and Postfix's daemons must traverse to root."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            raise BackendError(
                f"{parent} is not traversable by other users (mode {stat.filemode(mode)}); "
                "the mail daemons' unprivileged users must reach the stack's root: "
                "use a directory such as /tmp/mailstack",
                permanent=True,
            )


@dataclass
class MailStack:
    root: Path
    base_dir: Path
    ports: dict[str, int]
    config: DovecotPostfixConfig
    host: str = HOST
    _dovecot: subprocess.Popen | None = field(default=None, repr=False)
    _postfix: subprocess.Popen | None = field(default=None, repr=False)
    dkim: localstack_dkim.OpenDkimPaths | None = None
    _opendkim: subprocess.Popen | None = field(default=None, repr=False)
    _milter: subprocess.Popen | None = field(default=None, repr=False)
    stamping: localstack_stamping.StampingPaths | None = None
    _stamper: subprocess.Popen | None = field(default=None, repr=False)

    # ports by name, for readability in tests
    @property
    def imap_port(self) -> int:
        return self.ports["imap"]

    @property
    def lmtp_port(self) -> int:
        return self.ports["lmtp"]

    @property
    def managesieve_port(self) -> int:
        return self.ports["managesieve"]

    @property
    def smtp_port(self) -> int:
        return self.ports["smtp"]

    @property
    def submission_port(self) -> int:
        return self.ports["submission"]

    @property
    def quota_status_socket(self) -> Path:
        return localstack_quota.quota_status_socket(self.base_dir)

    @property
    def dovecot_pid(self) -> int | None:
        return self._dovecot.pid if self._dovecot else None

    @property
    def postfix_master_pid(self) -> int | None:
        try:
            return int((self.root / "postfix/queue/pid/master.pid").read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None

    @classmethod
    def start(cls, root: Path, *, timeout: float = 20.0,
              policy: tuple[str, str] | None = None,
              maps_database_url: str | None = None,
              maps_reader_url: str | None = None) -> MailStack:
        """Write configs under ``root``, start both daemons and wait until they listen.
        ``policy`` = (URL, secret) of Mail Manager's Dovecot auth policy endpoint;
        ``maps_database_url`` puts Postfix's lookup tables in that PostgreSQL database
        (read as ``maps_reader_url`` if given) instead of the embedded SQLite file."""
        dovecot, postfix = _which("dovecot"), _which("postfix")
        doveadm, sievec = _which("doveadm"), _which("sievec")
        postqueue, postconf = _which("postqueue"), _which("postconf")
        missing = missing_binaries(map_types=("pgsql",) if maps_database_url else ("sqlite",))
        if missing:
            raise BackendError(f"{', '.join(missing)}: not installed "
                               "(see scripts/install-system-packages.sh)", permanent=True)
        root = Path(root).resolve()
        root.mkdir(parents=True, exist_ok=True)
        os.chmod(root, 0o755)
        _check_reachable(root)
        for sub in ("dovecot/state", "postfix/queue", "postfix/data", "log", "db"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        # Postfix's master (running as mail_owner) creates its lock file in data_directory.
        postfix_user = pwd.getpwnam("postfix")
        os.chown(root / "postfix/data", postfix_user.pw_uid, postfix_user.pw_gid)
        vmail = root / "vmail"
        vmail.mkdir(exist_ok=True)
        os.chown(vmail, VMAIL_UID, VMAIL_UID)
        os.chmod(vmail, 0o770)
        config = DovecotPostfixConfig(
            dovecot_conf=root / "dovecot/dovecot.conf",
            postfix_dir=root / "postfix/etc",
            user_db=root / "db/users.sqlite3",
            maps_dir=root / "maps",
            maps_database_url=maps_database_url,
            maps_reader_url=maps_reader_url,
            doveadm=doveadm,
            postfix=postfix,
            postqueue=postqueue,
            postconf=postconf,
            sievec=sievec,
            dovecot_log=root / "log/dovecot.log",
        )
        config.postfix_dir.mkdir(parents=True, exist_ok=True)
        DovecotPostfixBackend(config).ensure_storage()

        # A free port can be taken by someone else before the daemon binds it: try again.
        for attempt in range(3):
            stack = cls._configure(root, config, policy)
            try:
                stack._start_daemons(dovecot, postfix, timeout)
                break
            except BaseException as exc:
                stack.stop()
                if attempt == 2 or "Address already in use" not in str(exc):
                    raise
        (root / "stack.json").write_text(json.dumps(stack.to_json(), indent=2) + "\n")
        return stack

    @classmethod
    def _configure(cls, root: Path, config: DovecotPostfixConfig,
                   policy: tuple[str, str] | None = None) -> MailStack:
        base_dir = Path(tempfile.mkdtemp(prefix="mmd-", dir="/tmp"))
        os.chmod(base_dir, 0o755)
        ports = dict(zip(PORT_NAMES, _free_ports(len(PORT_NAMES)), strict=True))
        sql_conf = root / "dovecot/dovecot-sql.conf.ext"
        sql_conf.write_text(render_dovecot_sql_conf(config.user_db))
        config.dovecot_conf.write_text(
            render_dovecot_conf(root=root, base_dir=base_dir, ports=ports, sql_conf=sql_conf,
                                policy=policy)
        )
        localstack_quota.write_dovecot_quota(root=root, config=config)
        localstack_quota.write_dovecot_quota_status(config)
        (config.postfix_dir / "main.cf").write_text(
            render_postfix_main_cf(
                root=root, ports=ports, maps=config, sasl_path=base_dir / "auth-postfix",
                recipient_checks=(localstack_quota.postfix_quota_check(base_dir),),
            )
        )
        localstack_logging.configure_postfix_logging(config.postfix_dir)
        (config.postfix_dir / "master.cf").write_text(render_postfix_master_cf(ports=ports))
        dkim = localstack_dkim.configure_opendkim(root, base_dir, config.postfix_dir)
        signatures = localstack_stamping.configure_stamping(root, base_dir, config.postfix_dir)
        return cls(root=root, base_dir=base_dir, ports=ports, dkim=dkim, stamping=signatures,
                   config=replace(config, dkim_dir=dkim.tables_dir, dkim_keys_dir=dkim.keys_dir,
                                  dkim_user=localstack_dkim.OPENDKIM_USER,
                                  opendkim_pid_file=dkim.pid_file,
                                  signatures_file=signatures.data_file))

    def _start_daemons(self, dovecot: str, postfix: str, timeout: float) -> None:
        conf, etc = str(self.config.dovecot_conf), str(self.config.postfix_dir)
        self._dovecot = self._spawn([dovecot, "-F", "-c", conf], "dovecot.out")
        self._start_opendkim(timeout)
        self.start_stamping(timeout)
        check = subprocess.run(
            [postfix, "-c", etc, "check"], capture_output=True, text=True, check=False
        )
        if check.returncode != 0:
            message = check.stderr.strip() or check.stdout.strip()
            raise BackendError(f"postfix check: {message}", permanent=True)
        with contextlib.suppress(FileNotFoundError):  # stale from an earlier run in this root
            (self.root / "postfix/queue/pid/master.pid").unlink()
        self._postfix = self._spawn([postfix, "-c", etc, "start-fg"], "postfix.out")
        self._milter = self._spawn_sender_milter()
        deadline = time.monotonic() + timeout
        waiting = set(PORT_NAMES)
        while waiting:
            for name, proc in (("dovecot", self._dovecot), ("postfix", self._postfix),
                               ("sender milter", self._milter)):
                if proc.poll() is not None:
                    raise BackendError(
                        f"{name} exited with status {proc.returncode} during startup:\n{self._log_tail()}",
                        permanent=True,
                    )
            for name in sorted(waiting):
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection((HOST, self.ports[name]), timeout=0.2),
                ):
                    waiting.discard(name)
            if waiting and time.monotonic() > deadline:
                raise BackendError(
                    f"not listening after {timeout}s: {', '.join(sorted(waiting))}\n{self._log_tail()}",
                    permanent=False,
                )
            if waiting:
                time.sleep(0.05)
        while self.postfix_master_pid is None:
            if time.monotonic() > deadline:
                raise BackendError("postfix wrote no master.pid", permanent=False)
            time.sleep(0.05)

    def _spawn(self, argv: list[str], log_name: str, cwd: Path | None = None) -> subprocess.Popen:
        with open(self.root / "log" / log_name, "ab") as out:
            # Own session: a Ctrl-C meant for the caller must not reach the daemons directly;
            # the caller stops them by PID.
            return subprocess.Popen(
                argv,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _log_tail(self, lines: int = 20) -> str:
        out = []
        for name in ("dovecot.log", "dovecot.out", "postfix.log", "postfix.out", "sender-milter.out",
                     "signature-milter.out"):
            path = self.root / "log" / name
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"--- {name}\n" + "\n".join(tail))
        return "\n".join(out)

    def dovecot_service_pids(self, name: str) -> list[int]:
        """PIDs of this stack's Dovecot processes of service `name` (e.g. "quota-status")."""
        if self._dovecot is None:
            return []
        found = []
        for pid in _children(self._dovecot.pid):
            with contextlib.suppress(OSError):
                if Path(f"/proc/{pid}/comm").read_text().strip() == name:
                    found.append(pid)
        return found

    def backend(self) -> DovecotPostfixBackend:
        return DovecotPostfixBackend(self.config)

    # DKIM signing (localstack_dkim.py) ------------------------------------------------------------

    @property
    def opendkim_pid(self) -> int | None:
        return self._opendkim.pid if self._opendkim else None

    def _start_opendkim(self, timeout: float) -> None:
        self._opendkim = self._spawn(
            localstack_dkim.opendkim_command(_which("opendkim"), self.dkim), "opendkim.out")
        localstack_dkim.wait_for_opendkim(self.dkim, self._opendkim, timeout, self._log_tail)

    def _stop_opendkim(self, timeout: float) -> None:
        if self._opendkim is not None:
            if self._opendkim.poll() is None:
                self._opendkim.send_signal(signal.SIGTERM)
            _wait_or_kill(self._opendkim, timeout)
            self._opendkim = None
        if self.dkim is not None:
            localstack_dkim.remove_keys(self.dkim)

    # Signature stamping (localstack_stamping.py) ------------------------------------------

    def start_stamping(self, timeout: float = 20.0) -> None:
        if self._stamper is None or self._stamper.poll() is not None:
            self._stamper = localstack_stamping.start_stamping(self.stamping, self._spawn, timeout)

    def _spawn_sender_milter(self) -> subprocess.Popen:
        return self._spawn(
            localstack_sender.sender_milter_command(host=HOST, port=self.ports["milter"],
                                                    config=self.config),
            "sender-milter.out", cwd=Path(__file__).resolve().parent.parent)

    def start_sender_milter(self, timeout: float = 20.0) -> None:
        """Start the From: check again (after ``stop_sender_milter``); returns once it listens."""
        if self._milter is None or self._milter.poll() is not None:
            self._milter = self._spawn_sender_milter()
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError), socket.create_connection(
                    (HOST, self.ports["milter"]), timeout=0.2):
                return
            if self._milter.poll() is not None or time.monotonic() > deadline:
                raise BackendError(f"the sender milter did not start:\n{self._log_tail()}",
                                   permanent=False)
            time.sleep(0.05)

    def stop_sender_milter(self, timeout: float = 10.0) -> None:
        if self._milter is not None:
            if self._milter.poll() is None:
                self._milter.send_signal(signal.SIGTERM)
            _wait_or_kill(self._milter, timeout)
            self._milter = None

    def stop_stamping(self, timeout: float = 10.0) -> None:
        if self._stamper is not None:
            if self._stamper.poll() is None:
                self._stamper.send_signal(signal.SIGTERM)
            _wait_or_kill(self._stamper, timeout)
            self._stamper = None

    def _dkim_json(self) -> dict:
        """What the adapter needs to write the signer's tables and signal it."""
        return {
            "dkim_dir": str(self.config.dkim_dir),
            "dkim_keys_dir": str(self.config.dkim_keys_dir),
            "dkim_user": self.config.dkim_user,
            "opendkim_pid_file": str(self.config.opendkim_pid_file),
            "opendkim_pid": self.opendkim_pid,
        }

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM each daemon by PID and wait; SIGKILL what is still there after ``timeout``."""
        if self._postfix is not None:
            # start-fg runs the master as a child of postfix-script (in a session of its
            # own): signal the master itself, found by its parent if it wrote no pid yet.
            master = None
            if self._postfix.poll() is None:
                master = self.postfix_master_pid or next(iter(_children(self._postfix.pid)), None)
            if master is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(master, signal.SIGTERM)
            _wait_or_kill(self._postfix, timeout, also=master)
            self._postfix = None
        self.stop_sender_milter(timeout)
        if self._dovecot is not None:
            if self._dovecot.poll() is None:
                self._dovecot.send_signal(signal.SIGTERM)
            _wait_or_kill(self._dovecot, timeout)
            self._dovecot = None
        self._stop_opendkim(timeout)
        self.stop_stamping(timeout)
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def to_json(self) -> dict:
        return {
            "host": self.host,
            "imap_port": self.imap_port,
            "lmtp_port": self.lmtp_port,
            "managesieve_port": self.managesieve_port,
            "smtp_port": self.smtp_port,
            "submission_port": self.submission_port,
            "root": str(self.root),
            "base_dir": str(self.base_dir),
            "dovecot_pid": self.dovecot_pid,
            "postfix_master_pid": self.postfix_master_pid,
            "dovecot_conf": str(self.config.dovecot_conf),
            "postfix_dir": str(self.config.postfix_dir),
            "user_db": str(self.config.user_db),
            "maps_dir": str(self.config.maps_dir),
            "maps_database_url": self.config.maps_database_url,
            "maps_reader_url": self.config.maps_reader_url,
            "doveadm": self.config.doveadm,
            "postfix": self.config.postfix,
            "postqueue": self.config.postqueue,
            "postconf": self.config.postconf,
            "sievec": self.config.sievec,
            "dovecot_log": str(self.config.dovecot_log) if self.config.dovecot_log else None,
            "postfix_log": str(self.root / "log/postfix.log"),
            "logs": str(self.root / "log"),
            **self._dkim_json(),
            "signatures_file": str(self.config.signatures_file),
        }

    def __enter__(self) -> MailStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _children(pid: int) -> list[int]:
    """PIDs whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                # The command name may contain spaces: the fields after ")" are fixed.
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
                if int(fields[1]) == pid:
                    found.append(int(entry.name))
    return found


def _wait_or_kill(proc: subprocess.Popen, timeout: float, also: int | None = None) -> None:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        for pid in (also, proc.pid):
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=timeout)

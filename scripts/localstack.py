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
import secrets
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
from mailservice.backends.postfix_maps import open_maps
from mailservice.backends.render import render_dovecot_sql_conf
from scripts import (
    localstack_dkim,
    localstack_logging,
    localstack_quota,
    localstack_sender,
    localstack_stamping,
)

HOST = "127.0.0.1"
VMAIL_UID = 5000  # owns all mail; deliberately has no passwd entry
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


def render_policy_conf(policy: tuple[str, str] | None) -> str:
    """Dovecot's auth policy server settings: Mail Manager learns which device password
    was used (and when) from the reports. Empty without a policy URL."""
    if policy is None:
        return ""
    url, secret = policy
    return f"""
auth_policy_server_url = {url}
auth_policy_server_api_header = X-Mail-Manager-Policy: {secret}
auth_policy_hash_nonce = {secrets.token_hex(16)}
auth_policy_request_attributes = login=%{{requested_username}} remote=%{{rip}} protocol=%s device=%{{passdb:device_ref}}
# Fail-open: past this timeout, or when the panel does not answer, Dovecot lets the login
# through and logs "Policy server HTTP error" (the alert); bans then wait for the panel.
auth_policy_server_timeout_msecs = 2000
# Asked before the password is checked (bans refuse even the right one); every attempt
# is reported afterwards (failures for the bans, successes for the device's last use).
auth_policy_check_before_auth = yes
auth_policy_report_after_auth = yes
"""


def render_dovecot_conf(
    *, root: Path, base_dir: Path, ports: dict[str, int], sql_conf: Path,
    policy: tuple[str, str] | None = None,
) -> str:
    vmail = root / "vmail"
    return render_policy_conf(policy) + f"""# Mail Manager local stack: private Dovecot. Generated.
base_dir = {base_dir}
state_dir = {root}/dovecot/state
instance_name = mailmanager-{base_dir.name}
protocols = imap lmtp sieve
listen = {HOST}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_username_format = %Lu
auth_verbose = yes
log_path = {root}/log/dovecot.log
hostname = mail.localstack.test
postmaster_address = postmaster@localstack.test
# Sieve redirect/vacation submit here (Postfix's reinjection port) instead of
# /usr/sbin/sendmail: an auto-reply is DKIM-signed like mail the address sends itself.
submission_host = {HOST}:{ports["reinject"]}
recipient_delimiter = +

mail_uid = {VMAIL_UID}
mail_gid = {VMAIL_UID}
first_valid_uid = {VMAIL_UID}
last_valid_uid = {VMAIL_UID}
first_valid_gid = {VMAIL_UID}
last_valid_gid = {VMAIL_UID}
mail_home = {vmail}/%d/%n
# LAYOUT=fs: folder names may contain "." ("v1.2"), "/" separates sub-folders.
mail_location = maildir:~/Maildir:LAYOUT=fs
mail_plugins = $mail_plugins quota
{localstack_logging.DOVECOT_DELIVERY_LOG}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Drafts {{
    special_use = \\Drafts
    auto = subscribe
  }}
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Trash {{
    special_use = \\Trash
    auto = subscribe
  }}
  mailbox Junk {{
    special_use = \\Junk
    auto = subscribe
  }}
}}

passdb {{
  driver = sql
  args = {sql_conf}
}}
userdb {{
  driver = sql
  args = {sql_conf}
}}

plugin {{
  quota = count:User quota
  quota_vsizes = yes
  sieve = file:~/sieve;active=~/.dovecot.sieve
  sieve_extensions = +editheader +vacation-seconds
}}

protocol imap {{
  mail_plugins = $mail_plugins imap_quota
}}
protocol lmtp {{
  mail_plugins = $mail_plugins sieve
}}

service imap-login {{
  inet_listener imap {{
    address = {HOST}
    port = {ports["imap"]}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = {HOST}
    port = {ports["lmtp"]}
  }}
}}
service managesieve-login {{
  inet_listener sieve {{
    address = {HOST}
    port = {ports["managesieve"]}
  }}
}}
service auth {{
  # Postfix's SASL client (submission port) asks Dovecot to check device passwords.
  unix_listener auth-postfix {{
    mode = 0660
    user = postfix
    group = postfix
  }}
}}
"""


def render_postfix_main_cf(
    *, root: Path, ports: dict[str, int], maps: DovecotPostfixConfig, sasl_path: Path,
    recipient_checks: tuple[str, ...] = (),
) -> str:
    return f"""# Mail Manager local stack: private Postfix. Generated.
compatibility_level = 3.6
queue_directory = {root}/postfix/queue
data_directory = {root}/postfix/data
# postfix-files and dynamicmaps.cf come from the package.
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
# With no tty, startup errors appear only here.
maillog_file = {root}/log/postfix.log
maillog_file_prefixes = {root}/log
inet_interfaces = {HOST}
inet_protocols = ipv4
myhostname = mx.localstack.test
mydomain = localstack.test
myorigin = $myhostname
mydestination =
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
smtpd_peername_lookup = no
biff = no
append_dot_mydomain = no
# Mail arriving from the MX is never "local": Postfix must not rewrite its headers
# (it turned "Sender: x at HOST" into addresses of its own domain, breaking Sieve tests).
local_header_rewrite_clients =
recipient_delimiter = +
# Never relay out of this machine.
default_transport = error:outbound mail is disabled in the local stack
relay_transport = error:outbound mail is disabled in the local stack
local_transport = error:no local delivery in the local stack

# Routing: SQL lookup tables the adapter writes (mailservice/backends/postfix_maps.py),
# then the quota check at RCPT.
{open_maps(maps).postfix_settings(recipient_checks)}virtual_transport = lmtp:inet:{HOST}:{ports["lmtp"]}

smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
smtpd_sasl_type = dovecot
smtpd_sasl_path = {sasl_path}
smtpd_sasl_auth_enable = no
smtpd_tls_security_level = none
"""


def reinjection_options() -> str:
    """master.cf options of the port Dovecot's Sieve sends through (redirects, auto-replies):
    the loopback only, no login, and the DKIM signer, which signs what leaves From one of
    our domains (an auto-reply) and passes the rest (a redirect keeps its sender's From
    and signature). Recipients are checked as on port 25: a redirect to a disabled or full
    local address is refused at RCPT there too."""
    return " ".join(f"-o {opt}" for opt in (
        "syslog_name=postfix/reinject",
        "smtpd_client_restrictions=permit_mynetworks,reject",
        "smtpd_relay_restrictions=permit_mynetworks,reject",
        "smtpd_milters=$submission_milters",
    ))


def render_postfix_master_cf(*, ports: dict[str, int]) -> str:
    submission_opts = " ".join(
        f"-o {opt}"
        for opt in (
            "syslog_name=postfix/submission",
            "smtpd_sasl_auth_enable=yes",
            # Loopback test stack: plain AUTH without TLS.
            "smtpd_tls_security_level=none",
            "smtpd_sasl_security_options=noanonymous",
            "smtpd_client_restrictions=permit_sasl_authenticated,reject",
            "smtpd_relay_restrictions=permit_sasl_authenticated,reject",
            *localstack_sender.submission_sender_checks(ports, host=HOST),
        )
    )
    rows = [
        f"{HOST}:{ports['smtp']} inet n - n - - smtpd",
        f"{HOST}:{ports['submission']} inet n - n - - smtpd {submission_opts}",
        f"{HOST}:{ports['reinject']} inet n - n - - smtpd {reinjection_options()}",
        "pickup unix n - n 60 1 pickup",
        "cleanup unix n - n - 0 cleanup",
        "qmgr unix n - n 300 1 qmgr",
        "rewrite unix - - n - - trivial-rewrite",
        "bounce unix - - n - 0 bounce",
        "defer unix - - n - 0 bounce",
        "trace unix - - n - 0 bounce",
        "verify unix - - n - 1 verify",
        "flush unix n - n 1000? 0 flush",
        "proxymap unix - - n - - proxymap",
        "proxywrite unix - - n - 1 proxymap",
        "smtp unix - - n - - smtp",
        "relay unix - - n - - smtp",
        "showq unix n - n - - showq",
        "error unix - - n - - error",
        "retry unix - - n - - error",
        "discard unix - - n - - discard",
        "lmtp unix - - n - - lmtp",
        "anvil unix - - n - 1 anvil",
        "scache unix - - n - 1 scache",
        "postlog unix-dgram n - n - 1 postlogd",
    ]
    return (
        "# Mail Manager local stack: private Postfix services. Generated.\n"
        + "\n".join(rows)
        + "\n"
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

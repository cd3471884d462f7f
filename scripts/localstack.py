"""A private Dovecot + Postfix pair on free loopback ports, for tests and for trying the product.

Everything lives under one root directory (configs, user database, maps, mail, queue,
logs) except Dovecot's base_dir, which holds UNIX sockets and must stay short (108-byte
path limit), so it is a small directory of its own under /tmp. Daemons are started in
the background and stopped by PID; nothing in /etc is read or changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from mailservice.backends.base import BackendError
from mailservice.backends.dovecot_postfix import DovecotPostfixBackend, DovecotPostfixConfig
from mailservice.backends.postfix_maps import open_maps
from mailservice.backends.quota import (
    postfix_quota_status_check,
    render_dovecot_quota_conf,
    render_dovecot_quota_status_conf,
    render_quota_warning_script,
)
from mailservice.backends.render import render_dovecot_sql_conf
from scripts import localstack_stamping

HOST = "127.0.0.1"
VMAIL_UID = 5000  # owns all mail; deliberately has no passwd entry
REQUIRED_BINARIES = ("dovecot", "doveadm", "postfix", "postconf", "sievec", "opendkim")
# Postfix's SQL lookup table types, from the postfix-sqlite / postfix-pgsql packages.
DYNAMIC_MAPS = Path("/etc/postfix/dynamicmaps.cf")
PORT_NAMES = ("imap", "lmtp", "managesieve", "smtp", "submission", "milter")


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


# --- Delivery log -----------------------------------------------------------------------
# What Mail Manager's per-address delivery log reads (mailservice/delivery/parse.py,
# BACKENDS-2.md §3): Dovecot's log_path with the message id, envelope and Sieve action of
# each LMTP delivery, the folder and subject of each saved copy; Postfix's own log file
# (postlogd) with long queue ids, which do not repeat within the 20 days kept, and each
# message's Subject. Kept apart from the routing settings above.

DOVECOT_DELIVERY_LOG = """\
deliver_log_format = msgid=%m from_envelope=<%{from_envelope}> to_envelope=<%{to_envelope}> size=%p delivery_time=%{delivery_time}ms storage_id=%{storage_id}: %$
mail_plugins = $mail_plugins mail_log notify
plugin {
  mail_log_events = save
  mail_log_fields = uid box msgid size from subject
}
"""


def render_postfix_logging(*, header_checks: Path) -> str:
    """main.cf lines of the delivery log (appended after the routing settings; the log
    file itself, maillog_file, is set with the daemon's basics)."""
    return f"""
# --- Delivery log ---
enable_long_queue_ids = yes
# Logs each message's Subject ("info: header Subject: …"): the log's subject search.
header_checks = regexp:{header_checks}
"""


# Postfix header_checks table: log the Subject header, change nothing.
POSTFIX_HEADER_CHECKS = "/^Subject:/ INFO\n"


# --- Quotas -----------------------------------------------------------------------------
# Each mailbox's quota (its userdb quota_rule) is enforced at delivery, and a notice is
# saved in the mailbox when it passes 90 % (mailservice/backends/quota.py). Appended to
# dovecot.conf after the settings above.


def write_dovecot_quota(*, root: Path, config: DovecotPostfixConfig) -> None:
    script = root / "dovecot/quota-warning.sh"
    script.write_text(render_quota_warning_script(
        doveadm=config.doveadm, dovecot_conf=config.dovecot_conf,
        sender="postmaster@localstack.test"))
    os.chmod(script, 0o755)
    with open(config.dovecot_conf, "a") as conf:
        # The mail uid has no passwd entry to own the warning socket (see the renderer).
        conf.write(render_dovecot_quota_conf(warning_script=script))


# --- Quota at RCPT (Dovecot's quota-status) ---------------------------------------------
# Postfix asks Dovecot at each RCPT whether the message fits in the mailbox: mail to a full
# one is refused with 552 5.2.2 before it is received. Fail-open: with the service down,
# LMTP still refuses it at delivery (mailservice/backends/quota.py says why).
QUOTA_STATUS_LISTENER = "quota-status"  # under Dovecot's base_dir (short socket path)


def quota_status_socket(base_dir: Path) -> Path:
    return base_dir / QUOTA_STATUS_LISTENER


def write_dovecot_quota_status(config: DovecotPostfixConfig) -> None:
    with open(config.dovecot_conf, "a") as conf:
        conf.write(render_dovecot_quota_status_conf(listener=QUOTA_STATUS_LISTENER))


# --- DKIM signing (OpenDKIM) ------------------------------------------------------------
# OpenDKIM signs what authenticated users submit (BACKENDS-2.md §2): a milter on the
# submission service only. Its KeyTable, SigningTable and key files are written by the
# adapter (mailservice/backends/dkim_tables.py) from each service's desired state, which
# then signals SIGUSR1 by the pid file: a new domain is signed without a restart.
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


def _configure_opendkim(root: Path, base_dir: Path, config: DovecotPostfixConfig) -> OpenDkimPaths:
    paths = opendkim_paths(root, base_dir, dkim_keys_dir(root))
    prepare_opendkim(paths)
    with open(config.postfix_dir / "main.cf", "a") as main_cf:
        main_cf.write(render_postfix_dkim(paths))
    return paths


DKIM_KEYS_PARENT = Path("/var/lib/mail-manager-localstack")


def dkim_keys_dir(root: Path) -> Path:
    """The stack's key folder, under parents only root can write (the stack's own root is
    usually under /tmp); named after the root's path, removed when the stack stops."""
    tag = hashlib.sha256(str(root).encode()).hexdigest()[:12]
    return DKIM_KEYS_PARENT / f"{root.name}-{tag}" / "keys"


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
# Sieve redirect/vacation submit here (Postfix's inbound port) instead of /usr/sbin/sendmail.
submission_host = {HOST}:{ports["smtp"]}
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
{DOVECOT_DELIVERY_LOG}
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


# --- Senders limited to the login -------------------------------------------------------
# On the submission service only: the envelope sender must be one the SASL login owns in
# the sender_logins table (Postfix itself), and so must each From: header address (the
# sender milter, mailservice/backends/sender_milter.py, which asks the same table). A
# milter that does not answer defers the message: nothing leaves unchecked.

def submission_sender_checks(ports: dict[str, int]) -> tuple[str, ...]:
    return (
        "smtpd_sender_restrictions=reject_authenticated_sender_login_mismatch",
        # The sender check first (it refuses; unreachable, mail waits: tempfail), then the
        # signature milter (localstack_stamping.py), then the DKIM signer, which signs the
        # stamped body; both have their own default_action=accept.
        f"smtpd_milters=inet:{HOST}:{ports['milter']},$signature_milters,$submission_milters",
        "milter_default_action=tempfail",
    )


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
            *submission_sender_checks(ports),
        )
    )
    rows = [
        f"{HOST}:{ports['smtp']} inet n - n - - smtpd",
        f"{HOST}:{ports['submission']} inet n - n - - smtpd {submission_opts}",
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
    dkim: OpenDkimPaths | None = None
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
        return quota_status_socket(self.base_dir)

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
        write_dovecot_quota(root=root, config=config)
        write_dovecot_quota_status(config)
        (config.postfix_dir / "main.cf").write_text(
            render_postfix_main_cf(
                root=root, ports=ports, maps=config, sasl_path=base_dir / "auth-postfix",
                recipient_checks=(postfix_quota_status_check(str(quota_status_socket(base_dir))),),
            )
        )
        header_checks = config.postfix_dir / "header_checks"
        header_checks.write_text(POSTFIX_HEADER_CHECKS)
        with open(config.postfix_dir / "main.cf", "a") as main_cf:
            main_cf.write(render_postfix_logging(header_checks=header_checks))
        (config.postfix_dir / "master.cf").write_text(render_postfix_master_cf(ports=ports))
        dkim = _configure_opendkim(root, base_dir, config)
        signatures = localstack_stamping.configure_stamping(root, base_dir, config.postfix_dir)
        return cls(root=root, base_dir=base_dir, ports=ports, dkim=dkim, stamping=signatures,
                   config=replace(config, dkim_dir=dkim.tables_dir, dkim_keys_dir=dkim.keys_dir,
                                  dkim_user=OPENDKIM_USER, opendkim_pid_file=dkim.pid_file,
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
        self._milter = self._spawn(
            [sys.executable, "-m", "mailservice.backends.sender_milter",
             "--listen", f"{HOST}:{self.ports['milter']}", "--config-dir", etc,
             "--table", open_maps(self.config).table_ref("sender_logins")],
            "sender-milter.out", cwd=Path(__file__).resolve().parent.parent)
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

    # DKIM signing (OpenDKIM) ------------------------------------------------------------

    @property
    def opendkim_pid(self) -> int | None:
        return self._opendkim.pid if self._opendkim else None

    def _start_opendkim(self, timeout: float) -> None:
        self._opendkim = self._spawn([_which("opendkim"), "-f", "-x", str(self.dkim.conf)],
                                     "opendkim.out")
        deadline = time.monotonic() + timeout
        while not self.dkim.socket.exists():
            if self._opendkim.poll() is not None:
                raise BackendError(f"opendkim exited with status {self._opendkim.returncode} "
                                   f"during startup:\n{self._log_tail()}", permanent=True)
            if time.monotonic() > deadline:
                raise BackendError(f"opendkim made no socket after {timeout}s", permanent=False)
            time.sleep(0.05)

    def _stop_opendkim(self, timeout: float) -> None:
        if self._opendkim is not None:
            if self._opendkim.poll() is None:
                self._opendkim.send_signal(signal.SIGTERM)
            _wait_or_kill(self._opendkim, timeout)
            self._opendkim = None
        if self.dkim is not None:
            shutil.rmtree(self.dkim.keys_dir.parent, ignore_errors=True)

    # Signature stamping (localstack_stamping.py) ------------------------------------------

    def start_stamping(self, timeout: float = 20.0) -> None:
        if self._stamper is None or self._stamper.poll() is not None:
            self._stamper = localstack_stamping.start_stamping(self.stamping, self._spawn, timeout)

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
        if self._milter is not None:
            if self._milter.poll() is None:
                self._milter.send_signal(signal.SIGTERM)
            _wait_or_kill(self._milter, timeout)
            self._milter = None
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

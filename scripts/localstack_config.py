"""The configuration files of the local stack's Dovecot and Postfix, as text: a pure
rendering from the stack's root, ports and maps (scripts/localstack.py writes them and
runs the daemons)."""

from __future__ import annotations

import secrets
from pathlib import Path

from mailservice.backends.dovecot_postfix import DovecotPostfixConfig
from mailservice.backends.postfix_maps import open_maps
from scripts import localstack_logging, localstack_sender

HOST = "127.0.0.1"
VMAIL_UID = 5000  # owns all mail; deliberately has no passwd entry


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

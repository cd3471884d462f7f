"""Mailbox quotas on Dovecot, pure: doveadm's quota report read into figures, and the
Dovecot settings and warning script that enforce and announce each mailbox's quota.

Each mailbox's limit comes from its userdb row (``quota_rule = *:storage=<N>M``, see
``render.render_dovecot_sql_conf``); the settings here make the quota plugin refuse
mail over it at delivery and leave a notice in the mailbox near it. No I/O here: the
adapter runs doveadm, the local stack (or a deployment) writes the files.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

QUOTA_ROOT = "User quota"
WARNING_PERCENT = 90
# Dovecot's own wording would say "Quota exceeded (mailbox for user is full)"; this is the
# text after "552 5.2.2 <user>" that the sender's bounce quotes.
EXCEEDED_MESSAGE = "Mailbox is full: the recipient's storage quota is used up"
WARNING_SUBJECT = "Your mailbox is almost full / Votre boîte aux lettres est presque pleine"


@dataclass(frozen=True)
class QuotaUsage:
    used_kb: int
    limit_kb: int | None  # None: no limit


def parse_quota_report(rows: Iterable[Mapping[str, object]], *,
                       user: str = "") -> dict[str, QuotaUsage]:
    """``doveadm -f json quota get`` rows → {mailbox address: usage}. Asked for one user
    (``-u address``), doveadm leaves the username out of its rows: pass it as ``user``.

    doveadm gives one row per user, quota root and type; only STORAGE counts here (its
    value and limit are in kilobytes, the limit "-" when there is none). A row that is not
    a number is skipped rather than guessed at. With several quota roots, the fullest one
    is the one that refuses mail first.
    """
    usage: dict[str, QuotaUsage] = {}
    for row in rows:
        if str(row.get("type", "")).upper() != "STORAGE":
            continue
        name = str(row.get("username", "") or user).strip().lower()
        try:
            used = int(str(row.get("value", "")))
        except ValueError:
            continue
        limit_text = str(row.get("limit", "-")).strip()
        try:
            limit = int(limit_text) if limit_text not in ("", "-") else None
        except ValueError:
            continue
        if not name or used < 0:
            continue
        found = QuotaUsage(used_kb=used, limit_kb=limit or None)
        if name not in usage or _fuller(found, usage[name]):
            usage[name] = found
    return usage


def _fuller(a: QuotaUsage, b: QuotaUsage) -> bool:
    if a.limit_kb and b.limit_kb:
        return a.used_kb / a.limit_kb > b.used_kb / b.limit_kb
    return bool(a.limit_kb) and not b.limit_kb


def used_mb(kilobytes: int) -> float:
    """A used figure as the control plane stores it: megabytes, to 1/100."""
    return round(kilobytes / 1024, 2)


def render_dovecot_quota_conf(
    *, warning_script: Path, warning_percent: int = WARNING_PERCENT,
    full_tempfail: bool = False, listener_user: str | None = None,
) -> str:
    """The Dovecot settings of the quotas (appended to a dovecot.conf that loads the quota
    plugin for IMAP and LMTP and reads the userdb of ``render_dovecot_sql_conf``).

    Mail over quota is refused by LMTP with ``552 5.2.2`` and Postfix bounces it to the
    sender: a full mailbox stays full for days, and a temporary failure would keep the
    message in queues for up to five days before the sender learns why. ``full_tempfail``
    answers ``452 4.2.2`` instead, for operators who prefer queued mail to bounces. The
    check runs at RCPT already when the mailbox is over quota, so no data is received.

    ``listener_user``: the system user mail is stored as, which alone may ask for a
    warning; without one (a mail uid with no passwd entry, as in the local stack) the
    socket is open to every local user, who can at worst send that notice.
    """
    if not 0 < warning_percent < 100:
        raise ValueError("the warning threshold is a percentage below 100")
    if listener_user is not None:
        listener = f"    user = {listener_user}\n    mode = 0600\n"
    else:
        listener = "    mode = 0666\n"
    tempfail = "yes" if full_tempfail else "no"
    return f"""
# --- Quotas (Mail Manager) ---
# Each mailbox's limit is its userdb quota_rule (*:storage=<N>M; 0 = none).
lmtp_rcpt_check_quota = yes
plugin {{
  quota_exceeded_message = {EXCEEDED_MESSAGE}
  quota_full_tempfail = {tempfail}
  # The message that crosses the limit is still accepted if it ends within 10 % over it.
  quota_grace = 10%%
  quota_warning = storage={warning_percent}%% quota-warning {warning_percent} %u
}}
service quota-warning {{
  executable = script {warning_script}
  unix_listener quota-warning {{
{listener}  }}
}}
"""


def quota_status_reply(*, full_tempfail: bool = False) -> str:
    """What Postfix answers at RCPT for a mailbox the message would not fit in."""
    return f"452 4.2.2 {EXCEEDED_MESSAGE}" if full_tempfail else f"552 5.2.2 {EXCEEDED_MESSAGE}"


def render_dovecot_quota_status_conf(
    *, listener: str, listener_user: str = "postfix", full_tempfail: bool = False,
) -> str:
    """Dovecot's quota-status policy service, which Postfix asks at each RCPT (see
    ``postfix_quota_status_check``): mail that would not fit is refused before it is
    received, so its sender's own server reports it, instead of a bounce sent from here
    after acceptance. Appended after ``render_dovecot_quota_conf`` (the same limits and
    grace decide; LMTP still refuses what passes while the service is down).

    It answers DUNNO, not OK, when the mail fits: Postfix's other recipient checks still
    run. An address that is no mailbox (an alias, a redirection, the catchall) is "nouser"
    here and left to delivery, which knows where it goes. ``listener``: the UNIX socket
    (a name under Dovecot's base_dir, or a path) that ``listener_user``, Postfix's smtpd
    user, connects to."""
    return f"""
# --- Quota at RCPT (Mail Manager) ---
plugin {{
  quota_status_success = DUNNO
  quota_status_nouser = DUNNO
  quota_status_overquota = "{quota_status_reply(full_tempfail=full_tempfail)}"
}}
service quota-status {{
  executable = quota-status -p postfix
  client_limit = 1
  unix_listener {listener} {{
    user = {listener_user}
    group = {listener_user}
    mode = 0660
  }}
}}
"""


# Longer than Dovecot takes under load to open a mailbox's index, shorter than the SMTP
# client's patience (Postfix tries twice, a second apart, before the default action).
QUOTA_STATUS_TIMEOUT_SECONDS = 10


def postfix_quota_status_check(socket: str) -> str:
    """The smtpd_recipient_restrictions entry that asks the quota-status service.

    Fail-open (``default_action=DUNNO``): with the service down or slow, Postfix's own
    default is 451 4.3.5, which would defer every inbound message of every mailbox for
    the length of the outage; with DUNNO the mail is accepted and the quota is still
    enforced by LMTP at delivery (a full mailbox's mail then bounces, as it did before
    this check). Postfix logs each failure ("problem talking to server"), the alert."""
    return (f"check_policy_service {{ unix:{socket}, default_action=DUNNO, "
            f"timeout={QUOTA_STATUS_TIMEOUT_SECONDS}s }}")


def render_quota_warning_script(*, doveadm: str, dovecot_conf: Path, sender: str) -> str:
    """The shell script Dovecot's quota-warning service runs with "<percent> <user>": it
    saves a notice straight into the user's INBOX with ``doveadm save`` (not through
    delivery: the mailbox's filters must not move or forward it), with enforcement off so
    the notice itself is never refused, and without a mail_log line (it is no delivery)."""
    doveadm_cmd = " ".join(shlex.quote(part) for part in (
        doveadm, "-c", str(dovecot_conf), "-o", "plugin/mail_log_events=",
        "-o", f"plugin/quota=count:{QUOTA_ROOT}:noenforcing"))
    return f"""#!/bin/sh
# Mail Manager: quota warning, run by Dovecot as: quota-warning.sh PERCENT USER. Generated.
set -eu
PERCENT="$1"
USER="$2"
DATE="$(LC_ALL=C date -R)"
{doveadm_cmd} save -u "$USER" -m INBOX <<EOF
From: Mail service <{sender}>
To: <$USER>
Date: $DATE
Subject: {WARNING_SUBJECT}
Auto-Submitted: auto-generated
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Your mailbox $USER has used $PERCENT % of its storage quota.
When it is full, new messages are refused and returned to their senders.
Delete messages you no longer need (and empty the Trash), or ask your
administrator for a larger quota.

Votre boîte aux lettres $USER a utilisé $PERCENT % de son quota de stockage.
Lorsqu'elle sera pleine, les nouveaux messages seront refusés et renvoyés
à leurs expéditeurs. Supprimez les messages dont vous n'avez plus besoin
(et videz la corbeille), ou demandez un quota plus grand à votre administrateur.
EOF
"""

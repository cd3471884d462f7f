"""The local stack's mailbox quotas (mailservice/backends/quota.py), kept apart from
scripts/localstack.py, which calls these few functions.

Each mailbox's quota (its userdb quota_rule) is enforced at delivery, and a notice is saved
in the mailbox when it passes 90 %. Postfix also asks Dovecot's quota-status service at
each RCPT whether the message fits in the mailbox: mail to a full one is refused with 552
5.2.2 before it is received. Fail-open: with the service down, LMTP still refuses it at
delivery (mailservice/backends/quota.py says why).
"""

from __future__ import annotations

import os
from pathlib import Path

from mailservice.backends.dovecot_postfix import DovecotPostfixConfig
from mailservice.backends.quota import (
    postfix_quota_status_check,
    render_dovecot_quota_conf,
    render_dovecot_quota_status_conf,
    render_quota_warning_script,
)

QUOTA_STATUS_LISTENER = "quota-status"  # under Dovecot's base_dir (short socket path)


def write_dovecot_quota(*, root: Path, config: DovecotPostfixConfig) -> None:
    """The warning script, and the quota settings appended to dovecot.conf after the
    stack's own."""
    script = root / "dovecot/quota-warning.sh"
    script.write_text(render_quota_warning_script(
        doveadm=config.doveadm, dovecot_conf=config.dovecot_conf,
        sender="postmaster@localstack.test"))
    os.chmod(script, 0o755)
    with open(config.dovecot_conf, "a") as conf:
        # The mail uid has no passwd entry to own the warning socket (see the renderer).
        conf.write(render_dovecot_quota_conf(warning_script=script))


def quota_status_socket(base_dir: Path) -> Path:
    return base_dir / QUOTA_STATUS_LISTENER


def write_dovecot_quota_status(config: DovecotPostfixConfig) -> None:
    with open(config.dovecot_conf, "a") as conf:
        conf.write(render_dovecot_quota_status_conf(listener=QUOTA_STATUS_LISTENER))


def postfix_quota_check(base_dir: Path) -> str:
    """The restriction main.cf runs at RCPT, after the routing tables' checks."""
    return postfix_quota_status_check(str(quota_status_socket(base_dir)))

"""The local stack's check that senders are limited to the login, kept apart from
scripts/localstack.py, which calls these few functions.

On the submission service only: the envelope sender must be one the SASL login owns in the
sender_logins table (Postfix itself), and so must each From: header address (the sender
milter, mailservice/backends/sender_milter.py, which asks the same table). A milter that
does not answer defers the message: nothing leaves unchecked.
"""

from __future__ import annotations

import sys

from mailservice.backends.dovecot_postfix import DovecotPostfixConfig
from mailservice.backends.postfix_maps import open_maps


def submission_sender_checks(ports: dict[str, int], *, host: str) -> tuple[str, ...]:
    """master.cf options of the submission service (the milter listens on `host`)."""
    return (
        "smtpd_sender_restrictions=reject_authenticated_sender_login_mismatch",
        # The sender check first (it refuses; unreachable, mail waits: tempfail), then the
        # signature milter (localstack_stamping.py), then the DKIM signer, which signs the
        # stamped body; both have their own default_action=accept.
        f"smtpd_milters=inet:{host}:{ports['milter']},$signature_milters,$submission_milters",
        "milter_default_action=tempfail",
    )


def sender_milter_command(*, host: str, port: int, config: DovecotPostfixConfig) -> list[str]:
    """The sender milter, asking the stack's sender_logins table."""
    return [sys.executable, "-m", "mailservice.backends.sender_milter",
            "--listen", f"{host}:{port}", "--config-dir", str(config.postfix_dir),
            "--table", open_maps(config).table_ref("sender_logins")]

"""The local stack's delivery log settings (BACKENDS-2.md §3), kept apart from
scripts/localstack.py, which writes them with the daemons' other settings.

What Mail Manager's per-address delivery log reads (mailservice/delivery/parse.py):
Dovecot's log_path with the message id, envelope and Sieve action of each LMTP delivery,
the folder and subject of each saved copy; Postfix's own log file (postlogd) with long
queue ids, which do not repeat within the 20 days kept, and each message's Subject.
"""

from __future__ import annotations

from pathlib import Path

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


def configure_postfix_logging(postfix_dir: Path) -> None:
    """The header_checks table, and the delivery log's lines appended to main.cf after the
    routing settings."""
    header_checks = postfix_dir / "header_checks"
    header_checks.write_text(POSTFIX_HEADER_CHECKS)
    with open(postfix_dir / "main.cf", "a") as main_cf:
        main_cf.write(render_postfix_logging(header_checks=header_checks))

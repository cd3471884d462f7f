"""What e2e tests read back from the local mail stack: its Postfix and Dovecot logs (in the
formats scripts/localstack.py configures, which the delivery log also reads), and a wait
on a condition with a deadline — never a fixed sleep."""
from __future__ import annotations

import re
import time
from pathlib import Path

DEADLINE = 30.0


def wait_for(condition, what: str, deadline: float = DEADLINE, every: float = 0.1):
    """`condition()`'s first truthy value; an AssertionError naming `what` after `deadline`."""
    end = time.monotonic() + deadline
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"waited {deadline:.0f} s for {what}")
        time.sleep(every)


class StackLogs:
    """The stack's log files (`<root>/log/postfix.log`, `dovecot.log`)."""

    def __init__(self, mail_stack):
        self.logs = Path(mail_stack.root) / "log"

    def log(self, name: str) -> str:
        path = self.logs / name
        return path.read_text(errors="replace") if path.exists() else ""

    def delivery_status(self, message_id: str, recipient: str) -> str | None:
        """Postfix's final status of the message's delivery to `recipient`, once logged."""
        text = self.log("postfix.log")
        queue_ids = re.findall(r" ([0-9A-Za-z]{6,}): message-id=" + re.escape(message_id), text)
        for queue_id in queue_ids:
            found = re.search(rf" {queue_id}: to=<{re.escape(recipient)}>.*? status=(\w+)", text)
            if found:
                return found.group(1)
        return None

    def sieve_log(self, message_id: str, mailbox: str) -> list[str]:
        """Dovecot's Sieve actions on the message in `mailbox`, in order: the stack's
        deliver_log_format writes "… msgid=<…> from_envelope=<…> … storage_id=…: fileinto
        action: stored mail into mailbox 'X'" → "stored mail into mailbox 'X'" (mail_log's
        "save: …" lines are not actions)."""
        action = re.compile(f"msgid={re.escape(message_id)} .*?storage_id=\\S*: (.*)$")
        found = []
        for line in self.log("dovecot.log").splitlines():
            match = action.search(line)
            if f"lmtp({mailbox})" in line and match:
                found.append(re.sub(r"^[\w ]+ action: ", "", match.group(1)))
        return found

"""The auto-reply with a period, delivered by the real stack: SMTP → Postfix → Dovecot LMTP
runs the standard script, and the reply leaves through submission back into the sender's
mailbox on the same stack.

Time is not faked: each address's period is set around the real clock (yesterday ..
tomorrow answers, tomorrow .. next week and last week .. yesterday do not), as
BACKENDS-2 §4 advises. Each case has its own address, so Dovecot's once-per-sender memory
(in the mailbox's home) never links two cases.

Waits are on conditions with a deadline. "No reply" is read from two facts: Postfix
logged the delivery as sent (LMTP answers only after the script ran, and a reply is
submitted before that answer), and Dovecot logged the message's delivery lines without
a vacation line; the replies of the other cases, sent with them, have arrived by then."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mailservice import services
from mailservice.desired import desired_state
from mailservice.models import Address
from tests.e2e.stack_logs import StackLogs, mailbox_messages, new_message_id, send_raw, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

DOMAIN = "autoreply-period.test"
SENDER = f"sender@{DOMAIN}"  # a mailbox of the stack: replies land there
FRIEND = f"friend@{DOMAIN}"  # a second sender, with its own mailbox
DAY = timedelta(days=1)


class Stack(StackLogs):
    def __init__(self, mail_stack):
        super().__init__(mail_stack)
        self.stack = mail_stack
        self.backend = mail_stack.backend()

    def send(self, recipient: str, *, sender: str = SENDER, headers: dict | None = None,
             subject: str = "Lunch on Friday?") -> str:
        message_id = new_message_id()
        lines = {"From": f"Someone <{sender}>", "To": recipient, "Subject": subject,
                 "Message-ID": message_id, **(headers or {})}
        raw = "".join(f"{k}: {v}\r\n" for k, v in lines.items()) + "\r\nAre you there?\r\n"
        send_raw(self.stack, sender, [recipient], raw.encode())
        return message_id

    def delivered(self, message_id: str, mailbox: str, envelope_recipient: str | None = None) -> list[str]:
        """Once the message is delivered into `mailbox`: Dovecot's Sieve log lines of it."""
        recipient = envelope_recipient or mailbox
        status, _dsn, reason = self.final_outcome(message_id, recipient)
        assert status == "sent", (recipient, status, reason)
        return wait_for(lambda: [line for line in self.sieve_log(message_id, mailbox)
                                 if line.startswith("stored mail into mailbox")]
                        and self.sieve_log(message_id, mailbox),
                        f"Dovecot's log of {message_id}")

    def replies(self, message_id: str, mailbox: str = SENDER) -> list:
        return mailbox_messages(self.backend, mailbox, "hdr", "header", "In-Reply-To", message_id)


@pytest.fixture
def stack(mail_stack, owner, organisation):
    service = services.mail_service_create(actor=owner, organisation=organisation, domain=DOMAIN,
                                           plan="premium", capacity=10)
    services.address_create(actor=owner, service=service, local_part="sender")
    services.address_create(actor=owner, service=service, local_part="friend")
    now = timezone.now()
    windows = {"inside": (now - DAY, now + DAY), "future": (now + DAY, now + 7 * DAY),
               "past": (now - DAY, now + DAY), "lists": (now - DAY, now + DAY),
               "twice": (now - DAY, now + DAY)}
    addresses = {}
    for name, (start, end) in windows.items():
        address = services.address_create(actor=owner, service=service, local_part=name)
        if name == "inside":
            services.alias_create(actor=owner, address=address, local_part="holidays")
        addresses[name] = services.address_update(
            actor=owner, address=address, autoreply_enabled=True, autoreply_start=start,
            autoreply_end=end, autoreply_days=2, autoreply_subject=f"Away ({name})",
            autoreply_body="I am away this week.\nI will answer when I am back.")
    # A period that is over: it was valid when saved, a week has passed since.
    Address.objects.filter(pk=addresses["past"].pk).update(
        autoreply_start=now - 7 * DAY, autoreply_end=now - DAY)
    for address in addresses.values():
        address.refresh_from_db()
    on = Stack(mail_stack)
    on.backend.apply(desired_state(service))
    yield on, addresses
    on.backend.remove_service(DOMAIN)


def test_the_auto_reply_answers_inside_its_period_only_and_once_per_sender(stack):
    on, addresses = stack
    assert {name: a.autoreply_state for name, a in addresses.items()} == {
        "inside": "active", "future": "scheduled", "past": "ended", "lists": "active",
        "twice": "active"}
    email = {name: a.email for name, a in addresses.items()}

    inside = on.send(email["inside"])
    to_alias = on.send(f"holidays@{DOMAIN}", sender=FRIEND)
    future = on.send(email["future"])
    past = on.send(email["past"])
    listed = on.send(email["lists"], headers={"List-Id": "<team.lists.example>"})
    bulk = on.send(email["lists"], headers={"Precedence": "bulk"})
    automatic = on.send(email["lists"], headers={"Auto-Submitted": "auto-generated"})
    first = on.send(email["twice"])
    on.delivered(first, email["twice"])
    second = on.send(email["twice"], subject="Still there?")
    # The list address does answer a person: the messages above were declined for what
    # they are, not because it could not answer (and they left no once-per-sender mark).
    personal = on.send(email["lists"])

    # Inside the period: one reply, from the auto-reply, marked automatic, to the sender.
    log = on.delivered(inside, email["inside"])
    assert f"sent vacation response to <{SENDER}>" in log
    reply = wait_for(lambda: on.replies(inside), "the reply inside the period")
    assert len(reply) == 1
    assert reply[0]["Subject"] == "Away (inside)"
    assert reply[0]["Auto-Submitted"].startswith("auto-replied")
    assert reply[0]["To"].addresses[0].addr_spec == SENDER

    # Mail sent to an alias is answered too (the default: the address and all its aliases).
    assert wait_for(lambda: on.replies(to_alias, FRIEND), "the reply to mail sent to the alias")
    assert wait_for(lambda: on.replies(personal), "the list address's reply to a person")

    # One per sender per interval: Dovecot remembers the first and discards the second.
    assert wait_for(lambda: on.replies(first), "the first reply of the interval")
    log = on.delivered(second, email["twice"])
    assert wait_for(lambda: any("discarded duplicate vacation response" in line
                                for line in on.sieve_log(second, email["twice"])),
                    "Dovecot to discard the duplicate reply")

    # Outside the period, and for list, bulk or automatic mail: delivered, no vacation.
    for message_id, name in ((future, "future"), (past, "past"), (listed, "lists"),
                             (bulk, "lists"), (automatic, "lists")):
        log = on.delivered(message_id, email[name])
        assert not [line for line in log if "vacation" in line], (name, log)
        assert on.replies(message_id) == [], name
    assert on.replies(second) == []

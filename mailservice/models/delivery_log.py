"""The delivery log: what happened to each message for each recipient, as read from the
backend hosts' logs, and where that reading stopped."""
from django.db import models
from django.utils.translation import gettext_lazy as _

from manager.core.querysets import RestrictedQuerySet

from .addresses import Address
from .mail_services import MailService


class DeliveryEvent(models.Model):
    """One (message, recipient) of the delivery log, read from a backend host's Postfix
    and Dovecot logs (`mailservice.delivery.parse`), kept `DELIVERY_LOG_DAYS` days. A
    deferral and the delivery that follows are one event whose status moves on."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")
        DELIVERED = "delivered", _("Delivered")
        FORWARDED = "forwarded", _("Forwarded")
        SENT = "sent", _("Sent")
        DEFERRED = "deferred", _("Deferred")
        BOUNCED = "bounced", _("Bounced")

    class Direction(models.TextChoices):
        INCOMING = "in", _("Received")
        OUTGOING = "out", _("Sent by an address")

    mail_service = models.ForeignKey(MailService, on_delete=models.CASCADE, null=True,
                                     related_name="delivery_events")
    # The address the mail was for (recipient, else the original recipient), and the
    # address that sent it (authenticated submission); None when not ours. An address
    # deleted leaves its events to the service's administrators.
    address = models.ForeignKey(Address, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="delivery_events")
    # Indexed by delivery_sender_time alone, over the rows that have one (see Meta).
    sender_address = models.ForeignKey(Address, on_delete=models.SET_NULL, null=True, blank=True,
                                       related_name="sent_delivery_events", db_index=False)
    host = models.CharField(_("backend host"), max_length=100)
    queue_id = models.CharField(_("queue id"), max_length=20, blank=True)
    time = models.DateTimeField(_("time"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices,
                                 default=Direction.INCOMING)
    sender = models.CharField(_("sender"), max_length=254, blank=True)
    recipient = models.CharField(_("recipient"), max_length=254, blank=True)
    original_recipient = models.CharField(_("original recipient"), max_length=254, blank=True)
    sasl_username = models.CharField(_("login"), max_length=254, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=255, blank=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    size = models.BigIntegerField(_("size"), null=True, blank=True)
    dsn = models.CharField(_("DSN"), max_length=16, blank=True)
    reason = models.TextField(_("server's reply"), blank=True)
    relay = models.CharField(_("relay"), max_length=255, blank=True)
    session = models.CharField(max_length=64, blank=True)  # Dovecot's LMTP session id
    folder = models.CharField(_("folder"), max_length=255, blank=True)
    sieve_action = models.TextField(_("filter action"), blank=True)

    organisation_field = "mail_service__organisation"
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-time", "-id"]
        indexes = [
            models.Index(fields=["address", "-time"], name="delivery_address_time"),
            # Partial: most events were not sent by one of our addresses. Over every row,
            # the table's statistics (the hourly purge analyses it) count those as one value
            # matching nearly all rows, and SQLite then read an address's log by scanning
            # the whole table in time order (1.2 ms → 14 ms on 41,000 events).
            models.Index(fields=["sender_address", "-time"], name="delivery_sender_time",
                         condition=models.Q(sender_address__isnull=False)),
            models.Index(fields=["mail_service", "-time"], name="delivery_service_time"),
            models.Index(fields=["message_id"], name="delivery_message_id"),
            models.Index(fields=["time"], name="delivery_time"),  # the purge
            models.Index(fields=["host", "queue_id"], name="delivery_queue_id"),
            models.Index(fields=["host", "session"], name="delivery_session"),
        ]

    def __str__(self):
        return f"{self.queue_id or 'NOQUEUE'} {self.recipient} {self.status}"


class DeliveryLogCursor(models.Model):
    """Where the delivery log's reader of one backend host stopped in each file (inode
    and offset), and the correlator's memory of messages still in the queue. Written in
    the same transaction as the events it led to."""

    host = models.CharField(max_length=100, unique=True)
    postfix_inode = models.BigIntegerField(default=0)
    postfix_offset = models.BigIntegerField(default=0)
    # The hash of the file's first line: finds the file again once rotated and compressed.
    postfix_head = models.CharField(max_length=64, blank=True)
    dovecot_inode = models.BigIntegerField(default=0)
    dovecot_offset = models.BigIntegerField(default=0)
    dovecot_head = models.CharField(max_length=64, blank=True)
    state = models.JSONField(default=dict)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self):
        return self.host

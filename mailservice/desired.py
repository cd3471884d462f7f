"""The desired backend state of a mail service, read from the database."""
from django.db.models import Prefetch

from .backends.base import DevicePasswordState, ForwardState, MailboxState, ServiceState
from .filters import active_script
from .models import Address, Alias, DevicePassword, MailService, Redirection, SortingRule
from .rules_store import to_rule


def desired_state(service: MailService) -> ServiceState:
    """What the backend must serve for this service. Disabled addresses are listed as
    disabled (the adapter serves nothing for them); their aliases, redirections and
    device passwords are left out so that no mail or login reaches them."""
    addresses = list(
        Address.objects.filter(mail_service=service).order_by("local_part").prefetch_related(
            Prefetch("redirections", queryset=Redirection.objects.order_by("target")),
            Prefetch("aliases", queryset=Alias.objects.order_by("local_part")),
            Prefetch("device_passwords",
                     queryset=DevicePassword.objects.filter(revoked__isnull=True).order_by("ref")),
            Prefetch("sorting_rules", queryset=SortingRule.objects.order_by("position", "pk")),
        )
    )
    for address in addresses:
        address.mail_service = service  # no query per address for .email
        address._standard_rules = [to_rule(r) for r in address.sorting_rules.all()]
    mailboxes, forwards, passwords = [], [], []
    catchall = None
    for address in addresses:
        email = address.email
        mailboxes.append(MailboxState(email=email, enabled=address.enabled, quota_mb=address.quota_mb,
                                      sieve_script=active_script(address) if address.enabled else None))
        if not address.enabled:
            continue
        if address.is_catchall:
            catchall = email
        for alias in address.aliases.all():
            forwards.append(ForwardState(source=f"{alias.local_part}@{service.domain}", targets=(email,)))
        redirections = list(address.redirections.all())
        if redirections:
            # The mailbox keeps a copy unless every redirection says not to.
            keep = any(r.keep_copy for r in redirections)
            targets = tuple(([email] if keep else []) + [r.target for r in redirections])
            forwards.append(ForwardState(source=email, targets=targets))
        for device in address.device_passwords.all():
            passwords.append(DevicePasswordState(ref=str(device.ref), email=email,
                                                 token_sha256=device.token_sha256,
                                                 can_send=device.can_send and not address.is_catchall))
    return ServiceState(domain=service.domain, mailboxes=tuple(mailboxes), forwards=tuple(forwards),
                        device_passwords=tuple(passwords), catchall=catchall)

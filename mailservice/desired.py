"""The desired backend state of a mail service, read from the database."""
from collections import defaultdict

from . import dkim_keys
from .backends.base import (
    BackendError,
    DevicePasswordState,
    DkimState,
    ForwardState,
    MailboxState,
    ServiceState,
    StampState,
)
from .models import (
    Address,
    AddressAccess,
    Alias,
    DevicePassword,
    DkimKey,
    MailService,
    Permission,
    Redirection,
    SortingRule,
)
from .selectors import active_script, to_rule


def _grouped(queryset, *fields):
    """Rows grouped by their first field (the address id). Plain value rows, not
    prefetch_related: for 10,000 addresses Django's per-object prefetch machinery cost
    ten times the queries themselves."""
    groups = defaultdict(list)
    for row in queryset.values_list(*fields):
        groups[row[0]].append(row[1:])
    return groups


def desired_state(service: MailService) -> ServiceState:
    """What the backend must serve for this service. Disabled addresses are listed as
    disabled (the adapter serves nothing for them); their aliases, redirections and
    device passwords are left out so that no mail or login reaches them."""
    domain = service.domain
    # A removed address is not served (the default manager leaves it out; said again here
    # because this is what the backend gets): its mail waits on disk for a restore.
    addresses = list(Address.objects.filter(mail_service=service, removed_at__isnull=True)
                     .order_by("local_part"))
    aliases = _grouped(Alias.objects.filter(mail_service=service).order_by("local_part"),
                       "address_id", "local_part")
    redirections = _grouped(
        Redirection.objects.filter(address__mail_service=service).order_by("target"),
        "address_id", "target", "keep_copy")
    devices = _grouped(
        DevicePassword.objects.filter(address__mail_service=service, revoked__isnull=True)
        .order_by("ref"), "address_id", "ref", "token_sha256", "can_send", "access__user_id")
    rules = defaultdict(list)
    for rule in SortingRule.objects.filter(address__mail_service=service).order_by("position", "pk"):
        rules[rule.address_id].append(to_rule(rule))

    mailboxes, forwards, passwords = [], [], []
    catchall = None
    for address in addresses:
        address.mail_service = service  # no query per address for .email
        email = address.email
        own_aliases = [local_part for (local_part,) in aliases.get(address.pk, ())]
        script = (active_script(address, rules.get(address.pk, []), alias_local_parts=own_aliases)
                  if address.enabled else None)
        mailboxes.append(MailboxState(email=email, enabled=address.enabled, quota_mb=address.quota_mb,
                                      sieve_script=script))
        if not address.enabled:
            continue
        if address.is_catchall:
            catchall = email
        for (local_part,) in aliases.get(address.pk, ()):
            forwards.append(ForwardState(source=f"{local_part}@{domain}", targets=(email,)))
        redirected = redirections.get(address.pk)
        if redirected:
            # The mailbox keeps a copy unless every redirection says not to.
            keep = any(keep_copy for _target, keep_copy in redirected)
            targets = tuple(([email] if keep else []) + [target for target, _keep in redirected])
            forwards.append(ForwardState(source=email, targets=targets))
        for ref, token_sha256, can_send, _user_id in devices.get(address.pk, ()):
            passwords.append(DevicePasswordState(ref=str(ref), email=email, token_sha256=token_sha256,
                                                 can_send=can_send and not address.is_catchall))
    return ServiceState(domain=domain, mailboxes=tuple(mailboxes), forwards=tuple(forwards),
                        device_passwords=tuple(passwords), catchall=catchall,
                        dkim=_signing_key(service), synonyms=_synonyms(service),
                        sender_grants=_sender_grants(service, addresses, devices),
                        stamps=_stamps(service, addresses))


def _signing_key(service: MailService) -> DkimState | None:
    """The key the signer must sign the domain's mail with: the active one (during a
    rotation the new key only has its record published; services/dkim.py)."""
    key = (DkimKey.objects.filter(mail_service=service, state=DkimKey.State.ACTIVE)
           .order_by("-activated_at", "-id").only("selector", "private_key").first())
    if key is None:
        return None
    try:
        return DkimState(selector=key.selector, private_key=dkim_keys.decrypt(key.private_key))
    except dkim_keys.KeyUnreadable as exc:
        raise BackendError(f"{service.domain}: {exc}", permanent=True) from exc


def _stamps(service: MailService, addresses) -> tuple[StampState, ...]:
    """The signatures the submission service stamps, for the addresses that are served
    and may send (the signatures app says which and what; three queries)."""
    from signatures.selectors import stamps_for_service

    sending = {a.email.lower() for a in addresses if a.enabled and not a.is_catchall}
    return tuple(StampState(email=email, html=stamp.html, text=stamp.text,
                            enabled=stamp.enabled, on_replies=stamp.on_replies)
                 for email, stamp in sorted(stamps_for_service(service).items())
                 if email in sending)


def _synonyms(service: MailService) -> tuple[str, ...]:
    """The synonym domains of the service's domain: they receive its mail."""
    from dnszones.models import Domain

    if service.domain_ref_id is None:
        return ()
    return tuple(Domain.objects.filter(synonym_of_id=service.domain_ref_id)
                 .order_by("name").values_list("name", flat=True))


def _sender_grants(service: MailService, addresses, devices) -> tuple[tuple[str, str], ...]:
    """(sender, login): the login of address L may send as address S of the same service
    when every person holding a sending device password on L has the "send" permission on
    S. Postfix knows only the login (L's address, shared by all of L's users), so one user
    of L without that permission keeps everyone on L from sending as S: refusing a
    legitimate sender is safer than letting a second person send as someone else."""
    usable = {a.pk: a for a in addresses if a.enabled and not a.is_catchall}
    senders = defaultdict(set)  # address id -> users with "send" on it
    for address_id, user_id, permissions in AddressAccess.objects.filter(
            address__mail_service=service).values_list("address_id", "user_id", "permissions"):
        if Permission.SEND in (permissions or ()) and address_id in usable:
            senders[address_id].add(user_id)
    holders = defaultdict(set)  # login address id -> users with a sending device password
    for address_id, rows in devices.items():
        for _ref, _token, can_send, user_id in rows:
            if can_send and address_id in usable:
                holders[address_id].add(user_id)
    grants = set()
    for login_id, users in holders.items():
        for sender_id, allowed in senders.items():
            if sender_id != login_id and users <= allowed:
                grants.add((usable[sender_id].email, usable[login_id].email))
    return tuple(sorted(grants))

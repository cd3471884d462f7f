"""DKIM keys of mail services: the first key at creation, and the rotation, each step in the
audit log. A rotation publishes a new selector first and keeps signing with the current
key; once the new record is served (our zone pushed, or the owner's DNS answering it) and
resolvers' copies of the name have expired (its TTL), the signer switches to the new key;
the old record stays published MAIL_DKIM_RETIRED_DAYS for mail still on its way, then is
withdrawn and the old private key wiped. `dkim_advance` moves every rotation on (a
periodic task); it takes the time explicitly so tests can walk the steps."""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dnszones.models import PUSH_KIND as ZONE_PUSH_KIND
from manager.accounts.roles import CHANGE
from manager.audit import services as audit
from manager.core import outbox
from manager.core.errors import Conflict
from manager.core.models import SyncStatus

from .. import dkim_keys
from ..mail_records import dkim_txt
from ..models import DkimKey, MailService
from .common import _require, push
from .dns_records import mail_records_install

State = DkimKey.State


def _new_key(service: MailService, state: str, now) -> DkimKey:
    pair = dkim_keys.generate()
    selector = dkim_keys.new_selector(now)
    while DkimKey.objects.filter(mail_service=service, selector=selector).exists():
        selector = dkim_keys.new_selector(now)
    return DkimKey.objects.create(mail_service=service, selector=selector, state=state,
                                  public_key=pair.public_key,
                                  private_key=dkim_keys.encrypt(pair.private_pem), created=now,
                                  activated_at=now if state == State.ACTIVE else None)


@transaction.atomic
def dkim_first_key(*, actor, service: MailService, now=None) -> DkimKey:
    """A new service's key, signing at once: there is no older key to overlap with (until
    its record is served, a receiver finds the signature unverifiable, which counts as no
    signature, RFC 6376 §6.1)."""
    key = _new_key(service, State.ACTIVE, now or timezone.now())
    audit.record(actor=actor, action="other", obj=service, verb="dkim.key_created",
                 after={"selector": key.selector, "state": key.state})
    return key


@transaction.atomic
def dkim_rotate(*, actor, service: MailService, now=None) -> DkimKey:
    """Start a rotation: a new key whose selector record is published; the current key
    keeps signing until `dkim_advance` switches."""
    _require(actor, CHANGE, service.organisation_id)
    service = MailService.objects.select_for_update().get(pk=service.pk)
    if DkimKey.objects.filter(mail_service=service, state=State.PUBLISHING).exists():
        raise Conflict(_("A key rotation is already under way; it ends when the new key "
                         "signs."), code="rotation_in_progress")
    now = now or timezone.now()
    current = DkimKey.objects.filter(mail_service=service, state=State.ACTIVE).first()
    key = _new_key(service, State.ACTIVE if current is None else State.PUBLISHING, now)
    audit.record(actor=actor, action="other", obj=service, verb="dkim.rotation_started",
                 after={"selector": key.selector,
                        "signing": current.selector if current else key.selector})
    mail_records_install(actor=actor, service=service)
    if current is None:  # nothing was signing: the new key signs at once
        push(service)
    return key


def selector_served(key: DkimKey) -> bool:
    """Is the key's selector record out there? In a zone we serve: once the zone push
    after the key was made has been applied. At an external DNS host: once the product's
    resolver answers it with the key."""
    domain = key.mail_service.domain_ref
    if domain is None:
        return False
    if domain.uses_our_dns:
        job = outbox.status_for(ZONE_PUSH_KIND, [domain.name]).get(domain.name)
        return (job is not None and job.sync_status == SyncStatus.APPLIED
                and job.last_applied_at is not None and job.last_applied_at >= key.created)
    from dnszones.resolver import LookupFailed, lookup
    from dnszones.zone.records import txt_text

    try:
        answer = lookup(f"{key.selector}._domainkey.{domain.name}", "TXT")
    except LookupFailed:
        return False
    want = dkim_txt(key.public_key).replace(" ", "")
    return any(txt_text(value).replace(" ", "") == want for value in answer.values)


def _record_ttl(key: DkimKey) -> int:
    domain = key.mail_service.domain_ref
    record = domain.records.filter(name=f"{key.selector}._domainkey", type="TXT").first()
    return record.ttl if record else domain.default_ttl


def dkim_advance(*, now=None, served=selector_served) -> list[str]:
    """Move every rotation on by what is due at `now`; the steps taken, as audit verbs
    with their selectors. Each step is its own transaction."""
    now = now or timezone.now()
    steps = []
    in_use = DkimKey.objects.filter(mail_service__removed_at__isnull=True).select_related(
        "mail_service__domain_ref")
    for key in in_use.filter(state=State.PUBLISHING, published_at__isnull=True):
        if served(key):
            steps.append(_published(key, now))
    for key in in_use.filter(state=State.PUBLISHING, switch_after__lte=now):
        steps.append(_switch(key, now))
    for key in in_use.filter(state=State.RETIRED, remove_after__lte=now):
        steps.append(_remove(key, now))
    return steps


@transaction.atomic
def _published(key: DkimKey, now) -> str:
    ttl = _record_ttl(key)
    DkimKey.objects.filter(pk=key.pk).update(published_at=now,
                                             switch_after=now + timedelta(seconds=ttl))
    audit.record(actor=None, action="other", obj=key.mail_service, verb="dkim.selector_published",
                 after={"selector": key.selector,
                        "switch_after": (now + timedelta(seconds=ttl)).isoformat()})
    return f"dkim.selector_published {key.selector}"


@transaction.atomic
def _switch(key: DkimKey, now) -> str:
    service = MailService.objects.select_for_update().get(pk=key.mail_service_id)
    retire_until = now + timedelta(days=settings.MAIL_DKIM_RETIRED_DAYS)
    old = list(DkimKey.objects.filter(mail_service=service, state=State.ACTIVE))
    DkimKey.objects.filter(pk__in=[k.pk for k in old]).update(
        state=State.RETIRED, retired_at=now, remove_after=retire_until)
    DkimKey.objects.filter(pk=key.pk).update(state=State.ACTIVE, activated_at=now)
    audit.record(actor=None, action="other", obj=service, verb="dkim.switched",
                 after={"selector": key.selector, "retired": [k.selector for k in old],
                        "retired_record_until": retire_until.isoformat()})
    push(service)  # the signer now signs with the new key
    return f"dkim.switched {key.selector}"


@transaction.atomic
def _remove(key: DkimKey, now) -> str:
    service = MailService.objects.select_for_update().get(pk=key.mail_service_id)
    DkimKey.objects.filter(pk=key.pk).update(state=State.REMOVED, removed_at=now, private_key="")
    audit.record(actor=None, action="other", obj=service, verb="dkim.retired_key_removed",
                 after={"selector": key.selector})
    mail_records_install(actor=None, service=service)  # withdraws its selector record
    return f"dkim.retired_key_removed {key.selector}"

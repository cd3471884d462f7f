"""Writes on domains: create (stored as an A-label), switch between our DNS and an external
one, delete, "Push now", and the domain a mail service is created on."""
from django.db import transaction
from django.utils.translation import gettext as _

from mailservice.validators import clean_domain
from manager.accounts.roles import ADD, CHANGE, DELETE
from manager.audit import services as audit
from manager.core.errors import Conflict, ServiceError

from ..models import Domain
from ..zone.records import RecordError, clean_ttl
from .common import DOMAIN_FIELDS, push, record_refused, require


def _clean_name(name: str) -> str:
    from django.core.exceptions import ValidationError

    try:
        return clean_domain(name)
    except ValidationError as exc:
        text = " ".join(exc.messages)
        raise ServiceError(text, code="invalid_domain", fields={"name": [text]}) from exc


def _taken(name):
    return Conflict(_("The domain %(domain)s is already registered here.") % {"domain": name},
                    code="domain_taken", fields={"name": [_("Already registered.")]})


@transaction.atomic
def domain_create(*, actor, organisation, name: str, uses_our_dns: bool = True,
                  dns_host: str = "default", default_ttl: int | None = None) -> Domain:
    require(actor, ADD, organisation.pk)
    name = _clean_name(name)
    if Domain.objects.filter(name=name).exists():
        raise _taken(name)
    ttl = _clean_default_ttl(default_ttl) if default_ttl is not None else None
    domain = Domain(organisation=organisation, name=name, uses_our_dns=bool(uses_our_dns),
                    dns_host=dns_host or "default")
    if ttl is not None:
        domain.default_ttl = ttl
    domain.save()
    audit.record(actor=actor, action="create", obj=domain,
                 after=audit.snapshot(domain, DOMAIN_FIELDS))
    if domain.uses_our_dns:
        push(domain)
    return domain


def _clean_default_ttl(value) -> int:
    try:
        return clean_ttl(value)
    except RecordError as exc:
        error = record_refused(exc)
        error.fields = {"default_ttl": error.fields["ttl"]}
        raise error from exc


@transaction.atomic
def domain_update(*, actor, domain: Domain, uses_our_dns: bool | None = None,
                  default_ttl: int | None = None) -> Domain:
    """Switching to an external DNS removes the zone from our server (the push of a domain
    that does not use our DNS); switching back serves it again, records included."""
    require(actor, CHANGE, domain.organisation_id)
    domain = Domain.objects.select_for_update().get(pk=domain.pk)
    before = audit.snapshot(domain, DOMAIN_FIELDS)
    if uses_our_dns is not None:
        if domain.synonym_of_id is not None and not uses_our_dns:
            raise ServiceError(_("%(domain)s is a synonym: its zone is served by our DNS until "
                                 "it is dissociated.") % {"domain": domain.unicode_name},
                               code="synonym_zone", fields={"uses_our_dns": [_("Dissociate first.")]})
        domain.uses_our_dns = bool(uses_our_dns)
    if default_ttl is not None:
        domain.default_ttl = _clean_default_ttl(default_ttl)
    after = audit.snapshot(domain, DOMAIN_FIELDS)
    if before != after:
        domain.save(update_fields=["uses_our_dns", "default_ttl"])
        audit.record(actor=actor, action="update", obj=domain, before=before, after=after)
        push(domain)
    return domain


@transaction.atomic
def domain_delete(*, actor, domain: Domain) -> None:
    require(actor, DELETE, domain.organisation_id)
    services = list(domain.mail_services.values_list("domain", flat=True)[:1])
    if services:
        raise Conflict(_("A mail service uses %(domain)s: delete the mail service first.")
                       % {"domain": domain.unicode_name}, code="domain_in_use")
    if domain.synonyms.exists():
        raise Conflict(_("%(domain)s has synonym domains: dissociate them first.")
                       % {"domain": domain.unicode_name}, code="domain_in_use")
    audit.record(actor=actor, action="delete", obj=domain,
                 before=audit.snapshot(domain, DOMAIN_FIELDS))
    push(domain)  # the push of a missing domain removes its zone from the DNS server
    main = domain.synonym_of
    domain.delete()
    if main is not None:  # its mail service stops receiving the deleted synonym's mail
        from .synonyms import push_mail

        push_mail(main)


@transaction.atomic
def domain_sync(*, actor, domain: Domain) -> None:
    """"Push now": queue a full push of the zone's desired state."""
    require(actor, CHANGE, domain.organisation_id)
    audit.record(actor=actor, action="other", obj=domain, verb="dns_zone.sync")
    push(domain)


def domain_for_mail_service(*, actor, organisation, name: str) -> Domain:
    """The organisation's domain of that name, created if needed (served by an external
    DNS until the owner switches it: nothing is published without their say). A domain of
    another organisation is refused."""
    domain = Domain.objects.filter(name=name).first()
    if domain is None:
        return domain_create(actor=actor, organisation=organisation, name=name,
                             uses_our_dns=False)
    if domain.organisation_id != organisation.pk:
        raise Conflict(_("The domain %(domain)s belongs to another organisation.")
                       % {"domain": name}, code="domain_taken",
                       fields={"domain": [_("Already registered.")]})
    return domain


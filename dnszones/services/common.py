"""Shared helpers of the DNS services: the role check, the pure core's messages in the
request's language, and the push of a zone (queued in the caller's transaction)."""
from django.db.models import F
from django.utils.translation import gettext

from manager.core import outbox
from manager.core.errors import ServiceError
from manager.core.permissions import may

from ..models import PUSH_KIND, Domain
from ..zone.records import RecordError

DOMAIN_FIELDS = ["name", "uses_our_dns", "dns_host", "default_ttl"]
RECORD_FIELDS = ["name", "type", "ttl", "value"]


def message(template: str, params: dict | None = None) -> str:
    """A message of the pure core (an English template), translated; its `help` parameter
    is itself one of the core's sentences (zone.records.VALUE_HELP)."""
    params = dict(params or {})
    if "help" in params:
        params["help"] = gettext(params["help"])
    return gettext(template) % params


def require(actor, action, organisation_id):
    if not may(actor, action, organisation_id=organisation_id):
        raise ServiceError(gettext("Your role does not allow this action."),
                           code="permission_denied", status=403)


def not_a_synonym(domain: Domain) -> None:
    """A synonym's zone is its main domain's copy: its records are edited there."""
    if domain.synonym_of_id is not None:
        raise ServiceError(gettext("%(domain)s is a synonym of %(main)s: edit the records of "
                                   "%(main)s.") % {"domain": domain.unicode_name,
                                                   "main": domain.synonym_of.unicode_name},
                           code="synonym_zone")


def record_refused(error: RecordError) -> ServiceError:
    text = message(error.template, error.params)
    return ServiceError(text, code="invalid_record", fields={error.field: [text]})


def zone_changed(domain: Domain) -> None:
    """The zone's content changed: a new serial for exports, and a push if we serve it."""
    Domain.objects.filter(pk=domain.pk).update(serial=F("serial") + 1)
    if domain.uses_our_dns:
        push(domain)
    # The synonyms serve a copy of this zone (dnszones.zone.synonym): theirs changed too.
    for synonym in Domain.objects.filter(synonym_of=domain, uses_our_dns=True):
        Domain.objects.filter(pk=synonym.pk).update(serial=F("serial") + 1)
        push(synonym)


def push(domain: Domain) -> None:
    """The DNS server must serve this domain's zone as the database says (after commit);
    for a domain that does not use our DNS, or a deleted one, that is: not at all."""
    outbox.enqueue(PUSH_KIND, domain.name, organisation_id=domain.organisation_id)

"""Synonym domains: a domain of the organisation that serves a copy of a main domain's zone
and receives its mail. Each refusal names the precondition that is not met (the codes are
the API's); dissociating leaves the synonym with nothing of the main domain."""
from django.db import transaction
from django.utils.translation import gettext as _

from manager.accounts.roles import CHANGE
from manager.audit import services as audit
from manager.core import outbox
from manager.core.errors import ServiceError

from ..models import Domain, ProductLink
from .common import require, zone_changed


def _refused(text: str, code: str) -> ServiceError:
    return ServiceError(text, code=code, fields={"domain": [text]})


def refusal(main: Domain, synonym: Domain) -> ServiceError | None:
    """Why `synonym` cannot become a synonym of `main`, or None."""
    names = {"synonym": synonym.unicode_name, "main": main.unicode_name}
    if synonym.pk == main.pk:
        return _refused(_("A domain cannot be a synonym of itself."), "same_domain")
    if synonym.organisation_id != main.organisation_id:
        return _refused(_("%(synonym)s belongs to another organisation than %(main)s.") % names,
                        "other_organisation")
    if main.synonym_of_id is not None:
        return _refused(_("%(main)s is itself a synonym: choose its main domain.") % names,
                        "main_is_synonym")
    if not main.uses_our_dns:
        return _refused(_("%(main)s does not use our DNS: there is no zone to copy.") % names,
                        "main_external_dns")
    if main.product_links.filter(product=ProductLink.Product.NEWSLETTER).exists():
        return _refused(_("%(main)s is tied to a newsletter: it cannot have synonyms.") % names,
                        "main_has_newsletter")
    if synonym.synonym_of_id is not None:
        return _refused(_("%(synonym)s is already a synonym.") % names, "already_synonym")
    if synonym.synonyms.exists():
        return _refused(_("%(synonym)s has synonyms of its own.") % names, "has_synonyms")
    if not synonym.uses_our_dns:
        return _refused(_("%(synonym)s must use our DNS to become a synonym.") % names,
                        "external_dns")
    if synonym.mail_services.exists() or synonym.product_links.exists():
        return _refused(_("%(synonym)s is already linked to a product.") % names,
                        "linked_to_product")
    return None


def push_mail(main: Domain) -> None:
    """The main domain's mail service serves its synonyms too: push it again."""
    from mailservice.models import PUSH_KIND, MailService

    for service in MailService.objects.filter(domain_ref=main):
        outbox.enqueue(PUSH_KIND, service.domain, organisation_id=service.organisation_id)


@transaction.atomic
def synonym_add(*, actor, main: Domain, synonym: Domain) -> Domain:
    """Make `synonym` serve `main`'s zone and mail. Its own records are deleted: from now on
    its zone is the main zone's copy, kept in sync by every push of the main zone."""
    require(actor, CHANGE, main.organisation_id)
    require(actor, CHANGE, synonym.organisation_id)
    main, synonym = (Domain.objects.select_for_update().get(pk=d.pk) for d in (main, synonym))
    problem = refusal(main, synonym)
    if problem is not None:
        raise problem
    deleted = synonym.records.count()
    synonym.records.all().delete()
    synonym.synonym_of = main
    synonym.save(update_fields=["synonym_of"])
    audit.record(actor=actor, action="update", obj=synonym, verb="dns_zone.synonym_add",
                 before={"synonym_of": None, "records": deleted},
                 after={"synonym_of": main.name, "records": 0})
    zone_changed(synonym)
    push_mail(main)
    return synonym


@transaction.atomic
def synonym_remove(*, actor, synonym: Domain) -> Domain:
    """Dissociate: the synonym keeps nothing of its main domain — its zone is back to our
    defaults (SOA and NS only) and its mail is refused."""
    require(actor, CHANGE, synonym.organisation_id)
    synonym = Domain.objects.select_for_update().get(pk=synonym.pk)
    main = synonym.synonym_of
    if main is None:
        raise ServiceError(_("%(domain)s is not a synonym.") % {"domain": synonym.unicode_name},
                           code="not_synonym")
    synonym.synonym_of = None
    synonym.save(update_fields=["synonym_of"])
    audit.record(actor=actor, action="update", obj=synonym, verb="dns_zone.synonym_remove",
                 before={"synonym_of": main.name}, after={"synonym_of": None})
    zone_changed(synonym)
    push_mail(main)
    return synonym

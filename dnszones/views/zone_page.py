"""The domain page's context: its records, zone, settings and synonyms."""

from manager.accounts.roles import ADD, CHANGE, DELETE
from manager.core.permissions import may

from .. import selectors, services
from ..forms import (
    DomainSettingsForm,
    RecordForm,
    RecordListFilter,
    SynonymAddForm,
)
from ..models import Domain
from .domain_scope import zone_status


def records_context(request, domain, *, form=None, query=None):
    query = request.GET if query is None else query
    filterset = RecordListFilter(query, queryset=selectors.records_of(domain))
    user = request.user
    return {"domain": domain, "records": list(filterset.qs), "filter": filterset,
            "record_form": form or RecordForm(initial={"name": "@", "ttl": domain.default_ttl}),
            "can_add": may(user, ADD, organisation_id=domain.organisation_id),
            "can_change": may(user, CHANGE, organisation_id=domain.organisation_id),
            "can_delete": may(user, DELETE, organisation_id=domain.organisation_id)}


def zone_context(request, domain, **extra):
    user = request.user
    return {**records_context(request, domain),
            "sync": zone_status(user, domain), "soa": selectors.soa_of(domain),
            "nameservers": selectors.nameservers(),
            "settings_form": DomainSettingsForm(initial={"uses_our_dns": domain.uses_our_dns,
                                                         "default_ttl": domain.default_ttl}),
            "mail_services": list(domain.mail_services.order_by("domain")),
            "synonyms": list(domain.synonyms.order_by("name")),
            "synonym_form": synonym_form(request, domain),
            "synonym_refusals": synonym_refusals(request, domain),
            **extra}


def synonym_refusals(request, domain) -> list[tuple[Domain, str]]:
    """The organisation's other domains that cannot become synonyms of this one, each
    with the reason, so the page tells before the owner tries."""
    if domain.synonym_of_id is not None or not may(request.user, CHANGE,
                                                   organisation_id=domain.organisation_id):
        return []
    candidates = (Domain.objects.restrict(request.user, "view")
                  .filter(organisation_id=domain.organisation_id)
                  .exclude(pk=domain.pk).exclude(synonym_of=domain).order_by("name")[:100])
    found = []
    for candidate in candidates:
        problem = services.synonyms.refusal(domain, candidate)
        if problem is not None:
            found.append((candidate, problem.message))
    return found


def synonym_form(request, domain, data=None) -> SynonymAddForm:
    return SynonymAddForm(data, main=domain,
                          queryset=Domain.objects.restrict(request.user, "view"))

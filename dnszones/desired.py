"""The desired state of a domain's zone, read from the database in one query (two for a
synonym domain, whose zone is a copy of its main domain's)."""
from django.conf import settings

from .backends.base import ZoneState
from .models import Domain, Record
from .selectors import nameservers
from .zone.state import records_of, zone_state
from .zone.synonym import synonym_zone


def desired_state(domain: Domain) -> ZoneState:
    """What the DNS server must serve for the domain: its records and the platform's apex
    NS (DNS_NAMESERVERS); the SOA is the server's own. A synonym serves its main domain's
    zone re-rooted (dnszones.zone.synonym)."""
    if domain.synonym_of_id is not None:
        main = Domain.objects.get(pk=domain.synonym_of_id)
        return synonym_zone(desired_state(main), domain.name, nameservers=nameservers(),
                            soa_email=settings.DNS_SOA_EMAIL)
    rows = Record.objects.filter(domain=domain).values_list("name", "type", "ttl", "value")
    return zone_state(domain.name, records_of(domain.name, rows), nameservers=nameservers(),
                      default_ttl=domain.default_ttl, soa_email=settings.DNS_SOA_EMAIL)

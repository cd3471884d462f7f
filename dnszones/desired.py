"""The desired state of a domain's zone, read from the database in one query."""
from django.conf import settings

from .backends.base import ZoneState
from .models import Domain, Record
from .selectors import nameservers
from .zone.state import records_of, zone_state


def desired_state(domain: Domain) -> ZoneState:
    """What the DNS server must serve for the domain: its records and the platform's apex
    NS (DNS_NAMESERVERS); the SOA is the server's own."""
    rows = Record.objects.filter(domain=domain).values_list("name", "type", "ttl", "value")
    return zone_state(domain.name, records_of(domain.name, rows), nameservers=nameservers(),
                      default_ttl=domain.default_ttl, soa_email=settings.DNS_SOA_EMAIL)

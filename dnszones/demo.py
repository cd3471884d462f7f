"""Demo data of the DNS app: the demo organisation's domain served by our DNS, with a few
records (idempotent). The mail app's demo has created the domain already (its mail
service's); it is switched to our DNS here."""
from . import services
from .models import Domain, Record

DEMO_DOMAIN = "demo.example"
DEMO_RECORDS = [
    ("@", "A", "192.0.2.10"),
    ("www", "CNAME", "demo.example."),
    ("@", "MX", "10 mail.demo.example."),
    ("mail", "A", "192.0.2.25"),
    ("@", "TXT", "v=spf1 mx -all"),
    ("_dmarc", "TXT", "v=DMARC1; p=none"),
]


def populate(*, owner, organisation):
    domain = Domain.objects.filter(name=DEMO_DOMAIN).first()
    if domain is None:
        domain = services.domain_create(actor=owner, organisation=organisation, name=DEMO_DOMAIN)
    elif domain.organisation_id != organisation.pk:
        return domain  # someone else's: leave it
    if not domain.uses_our_dns:
        domain = services.domain_update(actor=owner, domain=domain, uses_our_dns=True)
    for name, rtype, value in DEMO_RECORDS:
        if not Record.objects.filter(domain=domain, name=name, type=rtype).exists():
            services.record_create(actor=owner, domain=domain, name=name, type=rtype, value=value)
    return domain

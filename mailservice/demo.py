"""Demo data of the mail app: a Premium service with a few addresses (idempotent)."""
from . import services
from .models import Address, AddressAccess, MailService

DEMO_DOMAIN = "demo.example"


def populate(*, owner, organisation):
    service = MailService.objects.filter(domain=DEMO_DOMAIN).first()
    if service is None:
        service = services.mail_service_create(actor=owner, organisation=organisation,
                                               domain=DEMO_DOMAIN, plan="premium", capacity=10)
    for local_part, name in (("alice", "Alice Martin"), ("contact", "Contact"), ("catchall", "")):
        address = Address.objects.filter(mail_service=service, local_part=local_part).first()
        if address is None:
            address = services.address_create(actor=owner, service=service, local_part=local_part,
                                              display_name=name)
        if not AddressAccess.objects.filter(address=address, user=owner).exists():
            permissions = ["read", "manage_rules", "manage_signature", "manage_autoreply",
                           "manage_redirections"]
            if not address.is_catchall:
                permissions.append("send")
            services.access_grant(actor=owner, address=address, user=owner, permissions=permissions)
    return service

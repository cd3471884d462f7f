import pytest

from mailservice import services


@pytest.fixture
def premium(owner, organisation):
    return services.mail_service_create(actor=owner, organisation=organisation,
                                        domain="domain.xyz", plan="premium")


@pytest.fixture
def starter(owner, organisation):
    return services.mail_service_create(actor=owner, organisation=organisation,
                                        domain="starter.example", plan="starter")


@pytest.fixture
def alice(owner, premium):
    return services.address_create(actor=owner, service=premium, local_part="alice",
                                   display_name="Alice")


@pytest.fixture
def foreign_address(outsider, other_organisation):
    service = services.mail_service_create(actor=outsider, organisation=other_organisation,
                                           domain="other.example", plan="premium")
    return services.address_create(actor=outsider, service=service, local_part="bob")

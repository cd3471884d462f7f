"""Real responses of the API, checked against the OpenAPI schema it publishes: what an
integrator generates a client from is what the server answers."""
import pytest

from mailservice import services
from tests.api.schema_check import check
from tests.factories import grant

pytestmark = pytest.mark.django_db


def test_responses_of_the_mail_endpoints_match_the_schema(api, owner, member, premium, alice,
                                                          schema, settings):
    client = api(owner)
    rule = services.rule_create(actor=owner, address=alice, name="fb",
                                conditions=[{"field": "from", "operator": "contains",
                                             "value": "facebook.com"}],
                                actions=[{"kind": "move", "argument": "fb"}])
    second = services.rule_create(actor=owner, address=alice, name="stop",
                                  conditions=[{"field": "from", "operator": "exists"}],
                                  actions=[{"kind": "stop"}, {"kind": "flag"}])
    grant(owner, alice, owner, ["read", "send"])
    a, s = alice.pk, premium.pk
    calls = [
        ("get", "/api/v1/mail-services/", "/api/v1/mail-services/", None),
        ("get", "/api/v1/mail-services/{id}/", f"/api/v1/mail-services/{s}/", None),
        ("get", "/api/v1/mail-services/{id}/sync/", f"/api/v1/mail-services/{s}/sync/", None),
        ("get", "/api/v1/addresses/", "/api/v1/addresses/", None),
        ("get", "/api/v1/addresses/{id}/", f"/api/v1/addresses/{a}/", None),
        ("get", "/api/v1/addresses/{address_pk}/rules/", f"/api/v1/addresses/{a}/rules/", None),
        ("get", "/api/v1/addresses/{address_pk}/rules/lint/", f"/api/v1/addresses/{a}/rules/lint/", None),
        ("post", "/api/v1/addresses/{address_pk}/rules/reorder/",
         f"/api/v1/addresses/{a}/rules/reorder/", {"order": [second.pk, rule.pk]}),
        ("get", "/api/v1/addresses/{address_pk}/sieve/", f"/api/v1/addresses/{a}/sieve/", None),
        ("get", "/api/v1/addresses/{address_pk}/users/", f"/api/v1/addresses/{a}/users/", None),
        ("get", "/api/v1/addresses/{address_pk}/client-config/",
         f"/api/v1/addresses/{a}/client-config/", None),
        ("post", "/api/v1/addresses/{address_pk}/device-passwords/",
         f"/api/v1/addresses/{a}/device-passwords/", {"name": "laptop"}),
        ("post", "/api/v1/addresses/{address_pk}/invitations/",
         f"/api/v1/addresses/{a}/invitations/", {"email": "new@personal.example",
                                                 "permissions": ["read"]}),
        ("get", "/api/v1/organisations/", "/api/v1/organisations/", None),
        ("get", "/api/v1/audit-log/", "/api/v1/audit-log/", None),
    ]
    for method, path, url, body in calls:
        response = getattr(client, method)(url, body, format="json") if body is not None \
            else getattr(client, method)(url)
        assert response.status_code < 400, (url, response.content[:200])
        check(schema, method, path, response)
    # Accepting an invitation, as the invited person.
    invitation, raw = services.invitation_create(actor=owner, address=alice, permissions=["read"],
                                                 email="nora@personal.example")
    from tests.factories import make_user

    nora = api(make_user("nora@personal.example"))
    accepted = nora.post(f"/api/v1/invitations/{raw}/accept/")
    assert accepted.status_code == 201, accepted.content
    check(schema, "post", "/api/v1/invitations/{token}/accept/", accepted)

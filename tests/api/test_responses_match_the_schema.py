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


TESTED_MESSAGE = (b"Return-Path: <bob@example.org>\r\nFrom: Bob <bob@example.org>\r\n"
                  b"To: alice@domain.xyz\r\nSubject: hello\r\nMessage-ID: <t@example.org>\r\n"
                  b"\r\nfacebook.com says hi\r\n")


@pytest.mark.usefixtures("sieve_test")
def test_the_rule_testers_answers_match_the_schema(api, owner, alice, schema):
    """Standard mode (per-rule outcomes, an explicit and an implicit keep) and advanced mode
    (the engine's trace, a stop, a vacation, header edits, the environment warning)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = api(owner)
    url = f"/api/v1/addresses/{alice.pk}/rules/test/"
    path = "/api/v1/addresses/{address_pk}/rules/test/"
    services.rule_create(actor=owner, address=alice, name="flag it",
                         conditions=[{"field": "from", "operator": "contains", "value": "bob"}],
                         actions=[{"kind": "flag"}])

    def tested():
        response = client.post(url, {"message": SimpleUploadedFile("m.eml", TESTED_MESSAGE)},
                               format="multipart")
        assert response.status_code == 200, response.content
        check(schema, "post", path, response)
        return response.json()

    standard = tested()
    assert standard["mode"] == "standard" and standard["outcomes"][0]["matched"] is True
    assert standard["final_actions"][-1]["keep"] == "implicit"
    assert standard["vacation"] is None
    script = ('require ["fileinto", "vacation", "editheader", "environment", "imap4flags"];\n'
              'addheader "X-Seen-By" "tester";\n'
              'if environment :is "phase" "during" { fileinto "Live"; }\n'
              'if header :contains "subject" "hello" { keep; addflag "\\\\Seen"; }\n'
              'vacation :days 2 :subject "Away" "Back soon";\n'
              'if true { stop; }\n')
    response = client.put(f"/api/v1/addresses/{alice.pk}/sieve/",
                          {"mode": "advanced", "script": script}, format="json")
    assert response.status_code == 200, response.content
    advanced = tested()
    assert advanced["mode"] == "advanced"
    assert [(s["test"], s["matched"]) for s in advanced["trace"]["steps"]] == [
        ("environment", False), ("header", True)]
    assert advanced["trace"]["stopped"] == 6
    assert [a["keep"] for a in advanced["final_actions"] if a["kind"] == "store"] == ["explicit"]
    assert advanced["vacation"]["send"] is True and advanced["vacation"]["interval_seconds"] == 172800
    assert advanced["environment"]["script_uses_environment"] is True
    assert advanced["header_edits"][0]["name"] == "X-Seen-By"

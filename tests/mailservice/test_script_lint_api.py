"""API: the linter's warnings about an advanced script, on `sieve/` (GET, PUT, import) and
`rules/lint/`, by line, in the schema's shape."""
import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from drf_spectacular.generators import SchemaGenerator

from mailservice import services
from tests.api.test_responses_match_the_schema import check
from tests.factories import make_address, make_mail_service

GUIDE_2 = (Path(__file__).resolve().parent.parent / "sieve" / "guide_example_2.sieve").read_text()
EMPTY_MATCH = (
    "“${1}” is always empty here: no “:matches” or “:regex” test can have succeeded on the way "
    "to this line, and only a successful one fills the match variables.")

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sieve_test")]


def sieve_url(address, suffix=""):
    return f"/api/v1/addresses/{address.pk}/sieve/{suffix}"


def lint_url(address):
    return f"/api/v1/addresses/{address.pk}/rules/lint/"


@pytest.fixture
def client(api, owner):
    return api(owner)


def put_script(client, address, script):
    response = client.put(sieve_url(address), {"mode": "advanced", "script": script}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_saving_the_guides_second_example_answers_its_warning_by_line(client, alice):
    expected = [{"position": 0, "rule_name": "", "code": "unset_match_variable",
                 "message": EMPTY_MATCH, "line": 9}]
    assert put_script(client, alice, GUIDE_2)["lint"] == expected
    assert client.get(sieve_url(alice)).json()["lint"] == expected
    assert client.get(lint_url(alice)).json() == expected


def test_a_clean_script_has_no_warning_and_an_import_is_reviewed_too(client, alice):
    assert put_script(client, alice, 'require "fileinto";\nfileinto "Lists";\nstop;\n')["lint"] == []
    upload = SimpleUploadedFile("s.sieve", b'require ["fileinto", "vacation"];\nstop;\nkeep;\n')
    response = client.post(sieve_url(alice, "import/"), {"file": upload}, format="multipart")
    assert response.status_code == 200, response.content
    assert [(w["line"], w["code"]) for w in response.json()["lint"]] == [
        (1, "extension_unused"), (1, "extension_unused"), (3, "action_after_stop")]


def test_in_standard_mode_the_sieve_endpoint_answers_the_rules_warnings(client, owner, alice):
    services.rule_create(actor=owner, address=alice, name="Self",
                         conditions=[{"field": "from", "operator": "exists"}],
                         actions=[{"kind": "forward", "argument": "alice@domain.xyz"}])
    put_script(client, alice, 'require "fileinto";\nfileinto "a//b";\n')
    assert [w["code"] for w in client.get(lint_url(alice)).json()] == ["invalid_folder"]
    response = client.put(sieve_url(alice), {"mode": "standard"}, format="json")
    assert response.status_code == 200, response.content
    assert [(w["position"], w["rule_name"], w["code"], w["line"]) for w in response.json()["lint"]] == [
        (1, "Self", "forward_to_self", None)]
    assert client.get(lint_url(alice)).json() == response.json()["lint"]


def test_a_redirect_loop_through_another_organisation_keeps_its_hops_hidden(
        client, outsider, other_organisation, alice):
    other = make_mail_service(outsider, other_organisation, "other.example")
    bob = make_address(outsider, other, "bob")
    carl = make_address(outsider, other, "carl")
    services.redirection_create(actor=outsider, address=bob, target="carl@other.example")
    services.redirection_create(actor=outsider, address=carl, target="alice@domain.xyz")
    script = 'redirect "bob@other.example";\nredirect "Alice@domain.xyz";\n'
    lint = put_script(client, alice, script)["lint"]
    assert [(w["line"], w["code"]) for w in lint] == [(1, "forward_loop"), (2, "forward_to_self")]
    assert "alice@domain.xyz → bob@other.example → … → alice@domain.xyz" in lint[0]["message"]
    assert "carl" not in json.dumps(lint)


def test_warnings_are_in_the_language_of_the_request_reasons_included(client, alice):
    lint = put_script(client, alice, 'require "fileinto";\nfileinto "~x";\n')["lint"]
    assert lint[0]["message"].endswith('A folder name cannot start with "~".')
    response = client.get(sieve_url(alice), HTTP_ACCEPT_LANGUAGE="fr")
    [warning] = response.json()["lint"]
    assert warning["message"] == ("« fileinto » désigne le dossier « ~x », que le serveur mail "
                                  "refuse : Un nom de dossier ne peut pas commencer par « ~ ».")


def test_the_responses_match_the_published_schema(client, alice):
    schema = json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True),
                                   default=str))
    put_script(client, alice, GUIDE_2)
    response = client.put(sieve_url(alice), {"mode": "advanced", "script": GUIDE_2}, format="json")
    check(schema, "put", "/api/v1/addresses/{address_pk}/sieve/", response)
    check(schema, "get", "/api/v1/addresses/{address_pk}/sieve/", client.get(sieve_url(alice)))
    check(schema, "get", "/api/v1/addresses/{address_pk}/rules/lint/", client.get(lint_url(alice)))
    lint = schema["components"]["schemas"]["LintWarning"]
    assert "line" in lint["required"] and lint["properties"]["line"]["nullable"] is True

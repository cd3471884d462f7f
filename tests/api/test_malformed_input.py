"""Probing every route of the API schema with malformed input: wrong types, missing and
unknown fields, NUL bytes, deep nesting, numbers no column holds, ids out of range. No
answer is a 5xx, and every refusal has the one error shape — in DEBUG and in production
settings alike."""
import json

import pytest
from drf_spectacular.generators import SchemaGenerator

from mailservice import services
from tests.api.schema_check import check
from tests.factories import grant

pytestmark = pytest.mark.django_db

HUGE = 10**30
DEEP = '{"a":' * 3000 + "null" + "}" * 3000  # deeper than Python's JSON parser follows


def schema_routes():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def bodies_for(operation):
    """Malformed bodies shaped by the operation's own request schema."""
    yield {}
    yield []
    yield "not an object"
    yield {"deep": json.loads('{"a":' * 50 + "null" + "}" * 50)}
    yield {"unknown_field": "x"}
    properties = {}
    content = (operation.get("requestBody") or {}).get("content", {})
    for media in content.values():
        properties.update(media.get("schema", {}).get("properties", {}))
    for wrong in ("\x00", HUGE, -HUGE, [], {}, [{"x": "\x00"}], True, "x" * 5000, None):
        yield {name: wrong for name in properties} or {"x": wrong}


@pytest.fixture
def ids(owner, member, premium, alice):
    rule = services.rule_create(actor=owner, address=alice, name="r",
                                conditions=[{"field": "from", "operator": "exists"}],
                                actions=[{"kind": "flag"}])
    grant(owner, alice, member, ["read"])
    template = services.template_create(actor=owner, service=premium, name="t",
                                        from_address=alice)
    return {"id": alice.pk, "address_pk": alice.pk, "service_pk": premium.pk,
            "organisation_pk": premium.organisation_id, "rule": rule.pk, "template": template.pk,
            "domain_pk": premium.domain_ref_id}


def url_for(path, ids, *, huge=False):
    out = path
    for name in ("address_pk", "service_pk", "organisation_pk", "domain_pk", "id", "token"):
        value = HUGE if huge else ids.get(name, 1)
        out = out.replace("{" + name + "}", str(value))
    return "/api/v1" + out.removeprefix("/api/v1") if out.startswith("/api/v1") else out


def assert_shape(response, where):
    assert response.status_code < 500, (where, response.status_code, response.content[:300])
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"} and {"code", "message", "fields"} <= set(body["error"]), where


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_every_route_answers_malformed_input_in_the_error_shape(api, owner, ids, settings, debug,
                                                                schema):
    settings.DEBUG = debug
    client = api(owner)
    probed = set()
    for path, method, operation in schema_routes():
        if method in ("post", "put", "patch"):
            for body in bodies_for(operation):
                url = url_for(path, ids)
                response = getattr(client, method)(url, json.dumps(body),
                                                   content_type="application/json")
                assert_shape(response, (method, url, str(body)[:80]))
                check(schema, method, path, response)  # the status and body are documented
                probed.add((method, path))
        if "{" in path:
            url = url_for(path, ids, huge=True)
            # An id out of range never deletes anything; a path with a GET is read instead.
            read = "get" if method == "delete" and "get" in schema["paths"][path] else method
            response = getattr(client, read)(url)
            assert_shape(response, (method, url))
            check(schema, read, path, response)
    assert len(probed) >= 35  # every write route of the schema (39 today), not a few


def test_deep_json_and_huge_numbers_are_400(api, owner, premium):
    client = api(owner)
    deep = client.post("/api/v1/addresses/", DEEP, content_type="application/json")
    assert deep.status_code == 400 and deep.json()["error"]["code"] == "parse_error"
    huge = client.post("/api/v1/addresses/", {"mail_service": HUGE, "local_part": "x"},
                       format="json")
    assert huge.status_code == 400, huge.content
    nested = client.post(f"/api/v1/addresses/{HUGE}/rules/", {}, format="json")
    assert nested.status_code in (400, 404)


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_paths_without_the_slash_and_unknown_paths_answer_in_the_shape(api, owner, premium,
                                                                       settings, debug):
    settings.DEBUG = debug
    client = api(owner)
    created = client.post("/api/v1/addresses", {"mail_service": premium.pk, "local_part": "noslash"},
                          format="json")
    assert created.status_code == 201, created.content  # not a 301 that drops the body
    assert client.get(f"/api/v1/addresses/{created.json()['id']}").status_code == 200
    for url in ("/api/v1/nope/", "/api/v1/addresses/abc/", "/api/v1/x/y/z"):
        response = client.get(url)
        assert response.status_code == 404 and response["Content-Type"] == "application/json"
        assert response.json()["error"]["code"] == "not_found"
    stranger = api(None)
    stranger.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert stranger.get("/api/v1/addresses/").json()["error"]["code"] == "authentication_failed"
    assert stranger.get("/api/v1/nope/").json()["error"]["code"] == "not_found"


def test_a_body_over_the_limit_is_413_in_the_shape(api, owner, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api(owner).post("/api/v1/addresses/", {"local_part": "x" * 5000}, format="json")
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"

"""A body that names a field the operation does not know is refused (400 `unknown_field`,
the field named), for every operation of the schema that reads a body: a typo such as
`quota_mbs` used to be dropped while the request reported success. The unknown names are
made from each operation's own fields (a near miss of each), plus names no field can have."""
import re

import pytest
from django.test import Client

from .world import World, parameter_routes, url

pytestmark = pytest.mark.django_db

# Names that no serializer field has: empty, dotted like an error path, another script,
# a control character, very long.
ODD_NAMES = ["", "conditions.0.field", "ünknown", "tab\there", "x" * 300]


def body_operations(schema):
    for path, operations in sorted(schema["paths"].items()):
        for method, operation in sorted(operations.items()):
            if isinstance(operation, dict) and "requestBody" in operation:
                yield path, method, operation["requestBody"]["content"]


def request_fields(schema, content) -> list[str]:
    """The field names the operation documents for its body (its first media type)."""
    body = next(iter(content.values()))["schema"]
    ref = body.get("$ref", "")
    if ref:
        body = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return sorted(body.get("properties", {}))


def near_misses(fields: list[str]) -> list[str]:
    return [f"{name}s" for name in fields] + [name.upper() for name in fields if name.upper() != name]


def test_every_body_refuses_a_field_it_does_not_know(schema):
    world = World("a").make_all()
    refused = []
    for path, method, content in body_operations(schema):
        target = url(path, [world[route] for _name, route in parameter_routes(path)])
        json_body = "application/json" in content
        for name in near_misses(request_fields(schema, content)) + ODD_NAMES:
            if not json_body and not name.isprintable():
                continue  # a multipart part name cannot carry a control character
            response = getattr(world.api, method)(
                target, {name: "1"}, format="json" if json_body else "multipart")
            assert response.status_code == 400, (method, path, name, response.content[:300])
            error = response.json()["error"]
            assert error["code"] == "unknown_field", (method, path, name, error)
            # An empty name has no path of its own: the error is about the body.
            assert list(error["fields"]) == [name or "non_field_errors"], (method, path, error)
            refused.append((method, path))
    assert len(set(refused)) == len(list(body_operations(schema)))


def test_a_representation_read_back_can_be_sent_again():
    """Read-only fields (`id`, `created`, `sync_state` …) are accepted and ignored, so a
    client may PUT what it read."""
    world = World("b")
    address = world["/api/v1/addresses/{id}/"]
    read = world.api.get(f"/api/v1/addresses/{address}/").json()
    read["display_name"] = "Read back"
    response = world.api.put(f"/api/v1/addresses/{address}/", read, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["display_name"] == "Read back"
    assert response.json()["id"] == address


def test_a_nested_object_refuses_a_field_it_does_not_know():
    world = World("c")
    address = world["/api/v1/addresses/{id}/"]
    rule = {"name": "Offers", "conditions": [{"field": "subject", "operator": "contains",
                                              "value": "offers", "cas": "sensitive"}],
            "actions": [{"kind": "move", "argument": "Offers"}]}
    response = world.api.post(f"/api/v1/addresses/{address}/rules/", rule, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "unknown_field"
    assert list(error["fields"]) == ["conditions.0.cas"]
    del rule["conditions"][0]["cas"]
    assert world.api.post(f"/api/v1/addresses/{address}/rules/", rule,
                          format="json").status_code == 201


def test_a_form_posted_from_the_browsable_api_keeps_working(owner):
    """The form carries Django's CSRF token beside its fields: that is not an unknown field."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    page = browser.get("/api/v1/organisations/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1)
    response = browser.post("/api/v1/organisations/", {
        "csrfmiddlewaretoken": token.decode(), "name": "Posted from the form"})
    assert response.status_code == 201, response.content
    assert response.json()["name"] == "Posted from the form"
    refused = browser.post("/api/v1/organisations/", {
        "csrfmiddlewaretoken": token.decode(), "name": "Typo", "nmae": "Typo"})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "unknown_field"

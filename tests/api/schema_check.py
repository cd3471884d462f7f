"""Validating a real answer of the API against the OpenAPI schema it publishes (the
`schema` fixture is in tests/conftest.py)."""
import json

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012


def openapi_to_json_schema(node):
    """OpenAPI 3.0's `nullable` is JSON Schema's type union."""
    if isinstance(node, dict):
        node = {k: openapi_to_json_schema(v) for k, v in node.items()}
        if node.pop("nullable", False):
            if "type" in node:
                node["type"] = [node["type"], "null"]
            elif "allOf" in node or "$ref" in node or "oneOf" in node:
                node = {"anyOf": [node, {"type": "null"}]}
        return node
    if isinstance(node, list):
        return [openapi_to_json_schema(v) for v in node]
    return node


def check(schema, method, path, response):
    operation = schema["paths"][path][method]
    status = str(response.status_code)
    assert status in operation["responses"], (method, path, status, list(operation["responses"]))
    content = operation["responses"][status].get("content", {})
    if "application/json" not in content:
        return
    document = openapi_to_json_schema(schema)
    registry = Registry().with_resource("urn:schema", Resource.from_contents(
        document, default_specification=DRAFT202012))
    response_schema = openapi_to_json_schema(content["application/json"]["schema"])
    response_schema = json.loads(json.dumps(response_schema).replace('"#/components', '"urn:schema#/components'))
    errors = sorted(Draft202012Validator(response_schema, registry=registry).iter_errors(response.json()),
                    key=str)
    assert errors == [], (method, path, [e.message for e in errors[:3]])

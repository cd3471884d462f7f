"""The OpenAPI schema's account of failures: every operation lists the error statuses it can
answer, each with the one error shape (`core.api.exception_handler`), so a client generated
from the schema knows what a 400, 404 or 429 carries. Views declare only the errors whose
meaning is their own (an invitation's 410); the rest follow from what the operation is."""

ERROR_COMPONENT = "Error"

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every failure of the API, whatever raised it.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "Stable, machine-readable: `invalid`, "
                         "`required`, `unknown_field`, `not_found`, `permission_denied`, `conflict`, "
                         "`invalid_sieve`, `too_large`, `throttled`…"},
                "message": {"type": "string", "description": "For people, in the request's language."},
                "fields": {
                    "type": "object",
                    "description": "Messages per field, by dotted path (`conditions.1.operator`); "
                                   "empty when the error is not about one field.",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
            "required": ["code", "message", "fields"],
        },
    },
    "required": ["error"],
}

_DESCRIPTIONS = {
    "400": "Invalid input: `fields` names each field in error.",
    "401": "No credentials, or credentials that are not valid.",
    "403": "Authenticated, but the role or the grants do not allow this.",
    "404": "No such object, or one of another organisation.",
    "409": "Conflicts with the current state (an object in use, a duplicate).",
    "413": "The request body is larger than the limit.",
    "415": "The body is not in a media type the operation reads (see its request body).",
    "429": "Too many failed attempts from this client or for this account; see Retry-After.",
}
_WRITES = ("post", "put", "patch", "delete")
_METHODS = ("get", "post", "put", "patch", "delete")


def error_statuses(path: str, method: str, operation: dict) -> list[str]:
    """The failures an operation can answer besides its own: any request can be refused for
    its credentials (401, 429 after repeated failures) or its role (403), or be malformed
    (400: a body, a query parameter or an id out of range); a path with an id can miss
    (404); a write can conflict (409); a body can be too large (413) or of a media type
    the operation does not read (415)."""
    statuses = ["400", "401", "403", "429"]
    if "{" in path:
        statuses.append("404")
    if method in _WRITES:
        statuses.append("409")
    if "requestBody" in operation:
        statuses += ["413", "415"]
    return statuses


def add_error_responses(result, generator, request, public):
    """drf-spectacular post-processing hook (see SPECTACULAR_SETTINGS)."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status in error_statuses(path, method, operation):
                responses.setdefault(status, {"description": _DESCRIPTIONS[status]})
            for status, response in responses.items():
                if status.startswith("4"):
                    response.setdefault("content", content)
    return result


def close_request_bodies(result, generator, request, public):
    """drf-spectacular post-processing hook: a request body's objects, and the objects
    nested in them, say `additionalProperties: false`, as the API refuses a field it does
    not know (400 `unknown_field`, `core.serializers.KnownFieldsOnlyMixin`). Read-only
    fields, absent from a request body's schema, are still accepted and ignored."""
    schemas = result.get("components", {}).get("schemas", {})
    seen: set[str] = set()

    def close(schema):
        if not isinstance(schema, dict):
            return
        ref = schema.get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            if name not in seen:
                seen.add(name)
                close(schemas.get(name))
            return
        if schema.get("type") == "object" and "properties" in schema:
            schema.setdefault("additionalProperties", False)
        for key in ("properties",):
            for value in schema.get(key, {}).values():
                close(value)
        for key in ("items", "additionalProperties"):
            close(schema.get(key))
        for key in ("allOf", "oneOf", "anyOf"):
            for value in schema.get(key, []):
                close(value)

    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method in _METHODS:
                for media in operation.get("requestBody", {}).get("content", {}).values():
                    close(media.get("schema"))
    return result

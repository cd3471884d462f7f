"""Generated requests for every operation of the published schema, sent to the Django WSGI
application in-process as an organisation owner with a real API token: no answer is a
server error, and each answer's status, content type and body are the ones the schema
documents. Path parameters are the ids of real objects (tests/api/world.py) or a missing
one, so generated bodies reach the serializers and services, not only the 404 of a random
id. Each generated request runs in a savepoint rolled back afterwards: a generated DELETE
of the organisation does not starve the operations after it. Reproducible (derandomized,
no example database); the number of requests is printed."""
import copy
import socket

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from manager.accounts.services import api_token_create

from .world import NOT_AN_OBJECT, OBJECTS, World, parameter_routes

pytestmark = pytest.mark.django_db

# Valid requests, and requests that break the schema (each must be a documented 4xx).
MODES = [(GenerationMode.POSITIVE, 6), (GenerationMode.NEGATIVE, 3)]
MISSING = 987654321
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def with_real_ids(raw: dict, world: World) -> dict:
    """The schema, its path parameters narrowed to the world's object or a missing id."""
    raw = copy.deepcopy(raw)
    for path, operations in raw["paths"].items():
        ids = {name: (None if OBJECTS[route] is NOT_AN_OBJECT else world[route])
               for name, route in parameter_routes(path)}
        for operation in operations.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter.get("in") == "path" and ids.get(parameter["name"]) is not None:
                    parameter["schema"] = {"type": "integer",
                                           "enum": [ids[parameter["name"]], MISSING]}
    return raw


@pytest.fixture
def wsgi_app(settings):
    """The real WSGI handler; the test's database connection stays open across requests
    (as Django's test client keeps it), and any host name is accepted."""
    settings.ALLOWED_HOSTS = ["*"]
    handler = get_wsgi_application()

    def app(environ, start_response):
        # Again at every call: Django's test client (the world's makers) reconnects them.
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        return handler(environ, start_response)

    yield app
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_generated_requests_get_documented_answers(schema, wsgi_app, settings, capsys):
    # The connectivity check connects to the mail hosts: make that a quick refusal.
    settings.MAIL_IMAP_HOST = settings.MAIL_SMTP_HOST = "127.0.0.1"
    settings.MAIL_IMAP_PORT = settings.MAIL_SMTP_PORT = settings.MAIL_SMTPS_PORT = closed_port()
    world = World("fuzz").make_all()
    _token, raw = api_token_create(actor=world.owner, name="fuzz")
    headers = {"Authorization": f"Bearer {raw}"}
    loaded = schemathesis.openapi.from_dict(with_real_ids(schema, world))
    failures, counts = [], {"cases": 0, "operations": 0}

    for result in loaded.get_all_operations():
        operation = result.ok()
        counts["operations"] += 1
        for mode, examples in MODES:

            @hypothesis_settings(max_examples=examples, derandomize=True, database=None,
                                 deadline=None, phases=[Phase.explicit, Phase.generate],
                                 suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case):
                counts["cases"] += 1
                cache.clear()  # the throttle would count every generated request
                with transaction.atomic():
                    try:
                        case.call_and_validate(app=wsgi_app, headers=headers, checks=CHECKS)
                    finally:
                        transaction.set_rollback(True)

            try:
                run()
            except (Exception, BaseExceptionGroup) as error:  # every operation's fault is reported
                failures.append(f"{operation.label} ({mode.value}): {str(error)[:1500]}")
    with capsys.disabled():
        print(f"\nschemathesis: {counts['cases']} generated requests over "
              f"{counts['operations']} operations, {len(failures)} operation(s) failing")
    assert not failures, "\n\n".join(failures)

"""The DNS test world: example.org of the organisation (served by our DNS), and an in-memory
DNS server the push talks to through DNS_BACKEND_CONFIG."""
import json

import pytest

from dnszones import push
from tests.factories import make_domain

from . import memory_backend


@pytest.fixture
def zone(owner, organisation):
    return make_domain(owner, organisation, "example.org")


@pytest.fixture
def foreign_zone(outsider, other_organisation):
    return make_domain(outsider, other_organisation, "other.example")


@pytest.fixture
def dns_server(tmp_path, settings):
    """The in-memory server, configured as the only DNS host."""
    config = tmp_path / "dns.json"
    config.write_text(json.dumps({"backend": "tests.dnszones.memory_backend.MemoryBackend",
                                  "name": "default"}))
    settings.DNS_BACKEND_CONFIG = str(config)
    settings.DNS_NAMESERVERS = ["ns1.example.net.", "ns2.example.net."]
    push.forget_hosts()
    memory_backend.SERVERS.clear()
    yield memory_backend.MemoryBackend.from_config({"name": "default"})
    memory_backend.SERVERS.clear()
    push.forget_hosts()

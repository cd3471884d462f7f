"""Every DNS lookup goes through dnszones/resolver.py, configured by DNS_RESOLVER: the
external domain check asks a private server on a loopback port, and no other module builds
a resolver of its own."""
import re
from pathlib import Path

import pytest

from dnszones.external import check_records
from dnszones.resolver import lookup, resolver
from tests.factories import make_domain, make_record

from .tiny_dns import TinyDns

ROOT = Path(__file__).resolve().parents[2]
SERVED = """$TTL 300
@ SOA ns.shop.example. hostmaster.shop.example. 1 3600 900 1209600 300
@ NS ns.shop.example.
@ MX 10 MX1.example.NET.
@ TXT "v=spf1 include:spf.example.net" " -all"
www A 192.0.2.1
"""


@pytest.fixture
def private_dns(settings):
    server = TinyDns(SERVED, "shop.example.")
    settings.DNS_RESOLVER = server.address
    settings.DNS_RESOLVER_TIMEOUT = 2
    yield server
    server.close()


def test_the_resolver_is_the_one_the_setting_names(settings):
    settings.DNS_RESOLVER = "127.0.0.1:5399"
    configured = resolver()
    assert configured.nameservers == ["127.0.0.1"] and configured.port == 5399


def test_lookups_go_to_the_configured_server(private_dns):
    answer = lookup("www.shop.example", "A")
    assert answer.values == ("192.0.2.1",) and answer.ttl == 300
    assert lookup("nowhere.shop.example", "A").values == ()
    assert private_dns.queries == [("www.shop.example.", "A"), ("nowhere.shop.example.", "A")]


@pytest.mark.django_db
def test_the_external_check_says_which_records_are_there(owner, organisation, private_dns):
    shop = make_domain(owner, organisation, "shop.example", uses_our_dns=False)
    mx = make_record(owner, shop, "@", "MX", "10 mx1.example.net.")
    spf = make_record(owner, shop, "@", "TXT", "v=spf1 include:spf.example.net -all")
    missing = make_record(owner, shop, "autoconfig", "CNAME", "mail.example.net.")
    wrong = make_record(owner, shop, "www", "A", "192.0.2.2")
    results = {row.record.pk: row for row in check_records(shop)}
    assert results[mx.pk].present is True  # names compare case-insensitively
    assert results[spf.pk].present is True  # a TXT compares by its joined text
    assert results[missing.pk].present is False
    assert results[wrong.pk].present is False and results[wrong.pk].found == ("192.0.2.1",)


@pytest.mark.django_db
def test_an_unreachable_resolver_is_unknown_not_absent(owner, organisation, settings):
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:  # bound, never answers
        silent.bind(("127.0.0.1", 0))
        settings.DNS_RESOLVER = f"127.0.0.1:{silent.getsockname()[1]}"
        settings.DNS_RESOLVER_TIMEOUT = 0.3
        shop = make_domain(owner, organisation, "shop.example", uses_our_dns=False)
        make_record(owner, shop, "www", "A", "192.0.2.1")
        (row,) = check_records(shop)
    assert row.present is None and row.error


def test_no_module_builds_its_own_resolver():
    pattern = re.compile(r"dns\.resolver\.(resolve|query|Resolver|resolve_address)\(|"
                         r"\bResolver\(|from dns\.resolver import|dns\.query\.(udp|tcp|https)\(")
    allowed = {ROOT / "dnszones" / "resolver.py"}
    offenders = []
    for folder in ("manager", "mailservice", "dnszones", "signatures", "scripts"):
        for path in (ROOT / folder).rglob("*.py"):
            if path in allowed or "backends" in path.parts:
                continue  # the DNS server adapters talk to their own server, not a resolver
            if pattern.search(path.read_text()):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []

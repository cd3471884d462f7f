"""pyspf, the independent SPF implementation the flattening and merging are checked against.
It answers its DNS queries either from a dict of zones (`from_zones`) or through dnspython
pointed at a private server (`through_server`: the e2e tests' Knot)."""
import contextlib
import ipaddress
import random

import dns.resolver
import spf


def zone_lookup(zones: dict):
    """zones: {name: {type: [values]}} (TXT values as text) → lookup(name, type) → values."""
    folded = {name.lower().rstrip("."): {t.upper(): list(v) for t, v in types.items()}
              for name, types in zones.items()}

    def lookup(name, rtype):
        return tuple(folded.get(name.lower().rstrip("."), {}).get(rtype, ()))

    return lookup


def _pyspf_answers(lookup, name, qtype):
    """Answers in the shapes pyspf's own dnspython driver returns."""
    answers = []
    for value in lookup(name, qtype):
        if qtype in ("TXT", "SPF"):
            answers.append(((name, qtype), [value.encode()]))
        elif qtype == "MX":
            preference, exchange = value.split()
            answers.append(((name, qtype), (int(preference), exchange.rstrip("."))))
        else:
            answers.append(((name, qtype), value))
    return answers


@contextlib.contextmanager
def from_zones(zones: dict):
    lookup = zone_lookup(zones)
    real = spf.DNSLookup
    spf.DNSLookup = lambda name, qtype, strict=True, timeout=None: _pyspf_answers(lookup, name, qtype)
    try:
        yield
    finally:
        spf.DNSLookup = real


@contextlib.contextmanager
def through_server(host: str, port: int):
    """pyspf's own dnspython driver, with dnspython's default resolver aimed at the server."""
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port = [host], port
    real = dns.resolver.default_resolver
    dns.resolver.default_resolver = resolver
    driver, spf.DNSLookup = spf.DNSLookup, spf.DNSLookup_dnspython
    try:
        yield
    finally:
        dns.resolver.default_resolver, spf.DNSLookup = real, driver


@contextlib.contextmanager
def limits_lifted():
    """The original of a flattened record is over the 10-lookup limit by definition: it is
    evaluated with the limits lifted, to compare what it authorises."""
    saved = spf.MAX_LOOKUP, spf.MAX_VOID_LOOKUPS
    spf.MAX_LOOKUP, spf.MAX_VOID_LOOKUPS = 1000, 1000
    try:
        yield
    finally:
        spf.MAX_LOOKUP, spf.MAX_VOID_LOOKUPS = saved


def evaluate(ip: str, domain: str) -> str:
    """pyspf's result (pass, fail, softfail, neutral, permerror, …) for mail from `ip`
    claiming to come from `domain`."""
    result, _code, _explanation = spf.query(i=ip, s=f"postmaster@{domain}", h=domain).check()
    return result


def sample_ips(records, *, extra: int = 40, seed: int = 7) -> list[str]:
    """For every ip4/ip6 block written in `records`: its first and last address and one
    inside; the addresses of `hosts`; and random others of both families."""
    rng = random.Random(seed)
    ips = set()
    for text in records:
        for word in text.split():
            kind, _sep, network = word.lstrip("+-~?").partition(":")
            if kind in ("ip4", "ip6"):
                try:
                    net = ipaddress.ip_network(network, strict=False)
                except ValueError:  # the syntax errors of the bad_syntax case
                    continue
                ips |= {net.network_address, net.broadcast_address,
                        net.network_address + rng.randrange(net.num_addresses)}
                if net.num_addresses > 1:  # just outside the block
                    ips.add(net.network_address - 1 if int(net.network_address) else
                            net.broadcast_address + 1)
    for _ in range(extra):
        ips.add(ipaddress.IPv4Address(rng.getrandbits(32)))
        ips.add(ipaddress.IPv6Address((0x2001_0DB8 << 96) | rng.getrandbits(96)))
    return sorted(str(ip) for ip in ips)

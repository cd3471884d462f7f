"""The one DNS resolver of the product. Every lookup (the external domain check, later the
SPF analysis) goes through `lookup()`, configured by DNS_RESOLVER (`host:port`, empty for
the system's resolver), so tests and deployments can point it at a private server; a test
keeps any other module from building its own."""
from dataclasses import dataclass

import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver
from django.conf import settings


class LookupFailed(Exception):
    """The resolver gave no answer (timeout, SERVFAIL): unknown, not "absent"."""


@dataclass(frozen=True)
class Answer:
    name: str
    type: str
    ttl: int
    values: tuple[str, ...]  # rdata texts; () when the name or type does not exist


def resolver() -> dns.resolver.Resolver:
    spec = settings.DNS_RESOLVER.strip()
    if spec:
        host, _sep, port = spec.rpartition(":")
        if not host:  # "192.0.2.53" alone: port 53
            host, port = port, "53"
        instance = dns.resolver.Resolver(configure=False)
        instance.nameservers = [host.strip("[]")]
        instance.port = int(port)
    else:
        instance = dns.resolver.Resolver()
    instance.lifetime = instance.timeout = settings.DNS_RESOLVER_TIMEOUT
    return instance


def lookup(name: str, rtype: str) -> Answer:
    """The answer for `name` (absolute or not: a final dot is implied) and `rtype`."""
    qname = dns.name.from_text(name.rstrip(".") + ".")
    try:
        answer = resolver().resolve(qname, dns.rdatatype.from_text(rtype), search=False,
                                    raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return Answer(qname.to_text(), rtype, 0, ())
    except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.YXDOMAIN) as exc:
        raise LookupFailed(str(exc)) from exc
    if answer.rrset is None:
        return Answer(qname.to_text(), rtype, 0, ())
    return Answer(qname.to_text(), rtype, answer.rrset.ttl,
                  tuple(sorted(rdata.to_text() for rdata in answer.rrset)))

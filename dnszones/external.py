"""For a domain whose DNS is elsewhere: are the records we list there? Each one is looked up
through the product's resolver and compared as data (names case-insensitive, a TXT record
by its joined text)."""
from dataclasses import dataclass

import dns.exception

from .models import Domain, Record
from .resolver import LookupFailed, lookup
from .zone.records import canonical, parse_value, txt_text


@dataclass(frozen=True)
class RecordCheck:
    record: Record
    present: bool | None  # None: the lookup failed, we cannot tell
    found: tuple[str, ...] = ()
    error: str = ""


def _canonical(domain: Domain, rtype: str, text: str) -> str:
    if rtype == "TXT":  # how the text is cut into strings does not change what it says
        return txt_text(text)
    try:
        return canonical(parse_value(domain.name, rtype, text))
    except (dns.exception.DNSException, ValueError):
        return text


def check_records(domain: Domain, records=None) -> list[RecordCheck]:
    records = list(records if records is not None else domain.records.all())
    answers, results = {}, []
    for record in records:
        key = (record.fqdn, record.type)
        if key not in answers:
            try:
                answers[key] = lookup(record.fqdn, record.type)
            except LookupFailed as exc:
                answers[key] = exc
        answer = answers[key]
        if isinstance(answer, LookupFailed):
            results.append(RecordCheck(record, None, error=str(answer)))
            continue
        found = {_canonical(domain, record.type, value) for value in answer.values}
        expected = _canonical(domain, record.type, record.value)
        results.append(RecordCheck(record, expected in found, tuple(sorted(found))))
    return results

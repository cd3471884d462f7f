"""Seeing the end of a zone transfer while receiving it, without parsing it (no server)."""
import dns.message
import dns.rcode
import dns.rrset

from dnszones.backends.knot_transport import _closes_transfer

SOA = dns.rrset.from_text("example.org.", 3600, "IN", "SOA", "ns. host. 1 2 3 4 5")
A = dns.rrset.from_text("www.example.org.", 300, "IN", "A", "192.0.2.1", "192.0.2.2")


def answer(*rrsets, rcode=dns.rcode.NOERROR):
    message = dns.message.make_response(dns.message.make_query("example.org.", "AXFR"))
    message.answer = list(rrsets)
    message.set_rcode(rcode)
    return message.to_wire()


def test_the_transfer_ends_at_the_closing_soa():
    assert not _closes_transfer(answer(SOA), first=True)  # the opening SOA alone
    assert not _closes_transfer(answer(SOA, A), first=True)
    assert not _closes_transfer(answer(A), first=False)
    assert _closes_transfer(answer(A, SOA), first=False)
    assert _closes_transfer(answer(SOA, A, SOA), first=True)  # all in one message
    assert _closes_transfer(answer(SOA), first=False)


def test_an_error_answer_ends_it():
    assert _closes_transfer(answer(rcode=dns.rcode.NOTAUTH), first=True)

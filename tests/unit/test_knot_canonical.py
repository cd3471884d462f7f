"""The canonical spelling of RRsets, the SOA mailbox and the adapter's config (no server)."""
import dns.name
import pytest

from dnszones.backends.base import DnsBackendError, RRset
from dnszones.backends.canonical import absolute_name, rrset
from dnszones.backends.knot import KnotConfig, soa_mailbox
from dnszones.backends.knot_control import checked_zone, is_transient

ZONE = "example.org."


def test_names_are_absolute_and_lower_case():
    assert absolute_name("@", ZONE) == "example.org."
    assert absolute_name("WWW", ZONE) == "www.example.org."
    assert absolute_name("Mail.Example.NET.", ZONE) == "mail.example.net."


def test_names_inside_rdata_are_lowered_as_the_server_serves_them_but_text_keeps_its_case():
    assert rrset(ZONE, "@", "mx", 300, ["10 MX1.Example.NET.", "20 mx2"]) == RRset(
        "example.org.", "MX", 300, ("10 mx1.example.net.", "20 mx2.example.org."))
    assert rrset(ZONE, "@", "TXT", 300, ["Hello", '"v=DKIM1; p=AbC"']).values == (
        '"Hello"', '"v=DKIM1; p=AbC"')
    assert rrset(ZONE, "_imaps._tcp", "SRV", 300, ["0 1 993 IMAP"]).values == (
        "0 1 993 imap.example.org.",)


def test_values_are_sorted_without_duplicates():
    assert rrset(ZONE, "www", "AAAA", 60, ["2001:DB8::2", "2001:db8::1", "2001:0db8::2"]).values == (
        "2001:db8::1", "2001:db8::2")


def test_refused_rdata_raises_and_an_empty_rrset_is_refused():
    with pytest.raises(dns.exception.SyntaxError):
        rrset(ZONE, "www", "A", 60, ["999.1.1.1"])
    with pytest.raises(ValueError):
        rrset(ZONE, "www", "A", 60, [])


def test_the_soa_mailbox_is_relative_to_the_zone_unless_absolute():
    origin = dns.name.from_text(ZONE)
    assert soa_mailbox("hostmaster", origin).to_text() == "hostmaster.example.org."
    assert soa_mailbox("dns.example.net.", origin).to_text() == "dns.example.net."
    assert soa_mailbox("dns.admin@example.net", origin).to_text() == r"dns\.admin.example.net."


def test_config_is_read_from_a_stack_json_with_extra_keys():
    config = KnotConfig.from_dict({
        "host": "127.0.0.1", "port": "5353", "tsig_name": "k", "tsig_secret": "c2VjcmV0",
        "control_socket": "/tmp/k.sock", "root": "/tmp", "pid": 1, "timeout": 3,
    })
    assert config.port == 5353 and str(config.control_socket) == "/tmp/k.sock"
    assert config.timeout == 3 and config.knotc == "knotc"


def test_zone_names_that_knotc_could_misread_are_refused():
    assert checked_zone("xn--bcher-kva.example.") == "xn--bcher-kva.example."
    for bad in ("example.org", "x].example.", "Example.org.", "a b.example."):
        with pytest.raises(DnsBackendError) as raised:
            checked_zone(bad)
        assert raised.value.permanent


def test_a_busy_or_absent_knot_is_transient_and_a_refusal_is_not():
    assert is_transient("error: failed to connect to socket '/x' (not exists)")
    assert is_transient("error: (too many transactions)")
    assert not is_transient("error: (invalid item) zone[x.].bogus")

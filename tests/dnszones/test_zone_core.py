"""The pure zone core: records checked as dnspython reads them, TXT splitting, and zone files
in and out, pinned in golden files (tests/dnszones/golden/: `NAME.in.zone` is read and the
result is `NAME.out.zone`, or its errors `NAME.errors.txt`). UPDATE_GOLDEN=1 rewrites them."""
import os
from pathlib import Path

import dns.zone
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dnszones.zone import records, zonefile
from dnszones.zone.changes import import_changes
from dnszones.zone.records import (
    RecordData,
    RecordError,
    clean_record,
    conflict,
    split_txt,
    txt_text,
)
from dnszones.zone.state import zone_state

GOLDEN = Path(__file__).parent / "golden"
NS = ["ns1.example.net.", "ns2.example.net."]


def pinned(path: Path, text: str):
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def test_a_zone_file_is_read_and_rendered_as_pinned():
    parsed = zonefile.parse((GOLDEN / "mixed.in.zone").read_text(), "example.org")
    assert parsed.errors == []
    assert [item.line for item in parsed.ignored] == [5, 6]  # the SOA and the apex NS
    rendered = zonefile.render("example.org", parsed.record_list, nameservers=NS, serial=7)
    pinned(GOLDEN / "mixed.out.zone", rendered)


def test_the_rendered_zone_is_a_valid_zone_for_dnspython_and_reads_back_the_same():
    parsed = zonefile.parse((GOLDEN / "mixed.in.zone").read_text(), "example.org")
    rendered = zonefile.render("example.org", parsed.record_list, nameservers=NS, serial=7)
    served = dns.zone.from_text(rendered, origin="example.org.", relativize=False)
    served.check_origin()  # SOA and NS at the apex
    assert len(list(served.iterate_rdatas())) == len(parsed.records) + 1 + len(NS)
    again = zonefile.parse(rendered, "example.org")
    assert again.errors == [] and sorted(again.record_list) == sorted(parsed.record_list)


def test_every_error_of_a_zone_file_is_reported_with_its_line():
    parsed = zonefile.parse((GOLDEN / "errors.in.zone").read_text(), "example.org")
    pinned(GOLDEN / "errors.errors.txt", "".join(f"{error}\n" for error in parsed.errors))
    assert [e.line for e in parsed.errors] == [2, 3, 5, 6, 8, 9, 11, 12]
    assert [r.name for r in parsed.record_list] == ["cn", "@", "@"]  # line 10 inherits "@"


def test_a_long_txt_is_split_at_255_bytes_without_cutting_a_character():
    text = "v=DKIM1; p=" + "é" * 300
    chunks = split_txt(text)
    assert all(len(chunk) <= 255 for chunk in chunks) and b"".join(chunks) == text.encode()
    assert [chunk.decode() for chunk in chunks]  # each one is whole UTF-8
    record = clean_record("example.org", name="s1._domainkey", type="TXT", ttl=3600, value=text)
    assert txt_text(record.value) == text and record.value.count('" "') == len(chunks) - 1


@given(st.text(min_size=1, max_size=1200).filter(lambda t: t.strip() == t and not t.startswith('"')))
def test_any_text_survives_the_txt_round_trip(text):
    record = clean_record("example.org", name="t", type="TXT", ttl=3600, value=text)
    assert txt_text(record.value) == text


@pytest.mark.parametrize("name, relative", [("@", "@"), ("", "@"), ("example.org.", "@"),
                                             ("WWW", "www"), ("www.example.org.", "www"),
                                             ("bücher", "xn--bcher-kva"), ("*.dev", "*.dev"),
                                             ("_dmarc", "_dmarc")])
def test_names_are_stored_relative_to_the_zone(name, relative):
    assert records.clean_name("example.org", name) == relative


@pytest.mark.parametrize("name", ["www.example.org", "host.other.example.", "a..b", "-x", "x.*",
                                  "a" * 64])
def test_bad_or_ambiguous_names_are_refused_on_the_name(name):
    with pytest.raises(RecordError) as refused:
        records.clean_name("example.org", name)
    assert refused.value.field == "name"


def test_values_are_stored_canonical_with_absolute_names():
    mx = clean_record("example.org", name="@", type="MX", ttl=3600, value="10 MX1.Example.NET.")
    srv = clean_record("example.org", name="_sip._tcp", type="SRV", ttl=3600, value="0 5 5060 sip")
    aaaa = clean_record("example.org", name="v6", type="AAAA", ttl=3600, value="2001:DB8:0::1")
    assert (mx.value, srv.value, aaaa.value) == ("10 mx1.example.net.", "0 5 5060 sip.example.org.",
                                                 "2001:db8::1")


def test_a_records_neighbours_decide_whether_it_fits():
    www = RecordData("www", "A", 3600, "192.0.2.1")
    spf = RecordData("@", "TXT", 3600, '"v=spf1 -all"')
    assert conflict("example.org", [www], RecordData("www", "CNAME", 3600, "x.example.")).field == "type"
    assert conflict("example.org", [RecordData("www", "CNAME", 3600, "x.example.")], www).field == "type"
    assert conflict("example.org", [spf], RecordData("@", "TXT", 3600, '"v=spf1 ~all"')).field == "value"
    assert conflict("example.org", [spf], RecordData("@", "TXT", 3600, '"hello"')) is None
    assert conflict("example.org", [www], www).template == "This record already exists."
    assert conflict("example.org", [], RecordData("@", "NS", 3600, "ns.example.")).field == "type"
    assert conflict("example.org", [], RecordData("sub", "NS", 3600, "ns.example.")) is None


def test_an_import_preview_names_what_is_added_removed_and_changed():
    keep = RecordData("www", "A", 3600, "192.0.2.1")
    old_ttl, new_ttl = RecordData("@", "MX", 3600, "10 mx."), RecordData("@", "MX", 300, "10 mx.")
    gone, new = RecordData("old", "A", 3600, "192.0.2.9"), RecordData("new", "A", 3600, "192.0.2.8")
    changes = import_changes([keep, old_ttl, gone], [keep, new_ttl, new])
    assert changes.added == [new] and changes.removed == [gone]
    assert changes.changed == [(old_ttl, new_ttl)] and changes.unchanged == 1
    assert import_changes([keep], [keep]).empty


def test_records_of_one_rrset_are_one_rrset_in_the_state():
    state = zone_state("example.org", [RecordData("www", "A", 300, "192.0.2.2"),
                                       RecordData("www", "A", 600, "192.0.2.1")], nameservers=NS)
    www = [r for r in state.rrsets if r.name == "www.example.org."]
    assert len(www) == 1 and www[0].ttl == 300 and www[0].values == ("192.0.2.1", "192.0.2.2")

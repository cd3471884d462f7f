"""The SPF edits of the pure core: the qualifier switch, the merge of several providers'
records, and the flattening — the last two checked against pyspf, an independent SPF
implementation, for every address block the records name and random others."""
import json
from pathlib import Path

import pytest

from dnszones.spf import EditRefused, analyse, flatten, merge, with_qualifier

from .spf_oracle import evaluate, from_zones, limits_lifted, sample_ips, zone_lookup

GOLDEN = Path(__file__).parent / "spf_golden"


def case(name):
    return json.loads((GOLDEN / f"{name}.json").read_text())


# --- the qualifier ----------------------------------------------------------------------

@pytest.mark.parametrize("record, qualifier, expected", [
    ("v=spf1 include:spf.example.net -all", "~", "v=spf1 include:spf.example.net ~all"),
    ("v=spf1 include:spf.example.net ~all", "?", "v=spf1 include:spf.example.net ?all"),
    ("v=spf1 ip4:192.0.2.1 ?all exp=why.example.org", "-", "v=spf1 ip4:192.0.2.1 -all exp=why.example.org"),
    ("v=spf1 +all", "-", "v=spf1 -all"),
    ("v=spf1 mx", "-", "v=spf1 mx -all"),
    ("v=spf1 ip4:192.0.2.1 redirect=_spf.example.net", "~",
     "v=spf1 ip4:192.0.2.1 include:_spf.example.net ~all"),
])
def test_the_qualifier_switch_rewrites_only_the_all(record, qualifier, expected):
    assert with_qualifier(record, qualifier) == expected


def test_the_qualifier_switch_refuses_a_pass_all_or_a_broken_record():
    with pytest.raises(EditRefused) as refused:
        with_qualifier("v=spf1 -all", "+")
    assert refused.value.code == "invalid_qualifier"
    with pytest.raises(EditRefused) as refused:
        with_qualifier("v=spf1 ip4:300.1.1.1 -all", "~")
    assert refused.value.code == "invalid_spf" and refused.value.params["position"] == 8


# --- the merge --------------------------------------------------------------------------

def test_the_guides_three_records_merge_into_the_guides_one():
    merged = merge(["v=spf1 include:spf.infomaniak.ch -all",
                    "v=spf1 include:the-second-domain.xyz ?all",
                    "v=spf1 include:the-other-domain.xyz ~all"])
    assert merged.text == ("v=spf1 include:spf.infomaniak.ch include:the-second-domain.xyz "
                           "include:the-other-domain.xyz -all")
    assert merged.warnings == ()


def test_a_merge_puts_addresses_first_drops_duplicates_and_turns_redirects_into_includes():
    merged = merge(["v=spf1 include:_spf.a.example IP4:192.0.2.1 ~all exp=why.a.example",
                    "v=spf1 ip4:192.0.2.1 include:_spf.A.example. ip6:2001:db8::/32 mx ?all",
                    "v=spf1 redirect=_spf.google.example"])
    assert merged.text == ("v=spf1 ip4:192.0.2.1 ip6:2001:db8::/32 include:_spf.a.example "
                           "include:_spf.a.example. mx include:_spf.google.example ~all")
    assert [code for code, _t, _p in merged.warnings] == ["exp_dropped"]


def test_a_merge_refuses_pass_all_and_without_all_ends_strict():
    with pytest.raises(EditRefused) as refused:
        merge(["v=spf1 include:a.example -all", "v=spf1 ip4:192.0.2.0/24 +all"])
    assert refused.value.code == "pass_all"
    merged = merge(["v=spf1 redirect=_spf.a.example", "v=spf1 ip4:192.0.2.7"])
    assert merged.text == "v=spf1 ip4:192.0.2.7 include:_spf.a.example -all"
    assert [code for code, _t, _p in merged.warnings] == ["all_added"]
    assert merge(["v=spf1 a ~all", "v=spf1 a ?all", "v=spf1 mx ~all"]).text == "v=spf1 a mx ~all"


def test_a_merged_record_passes_exactly_what_one_of_the_originals_passes():
    zones = case("nested_15")["zones"]
    originals = ["v=spf1 include:_spf.spf-pa.test ~all", "v=spf1 include:_spf.spf-pb.test ?all",
                 "v=spf1 ip4:192.0.2.250 include:_spf.spf-pc.test -all"]
    merged = merge(originals).text
    assert merged.endswith(" -all")
    ips = sample_ips([*originals, *(v for z in zones.values() for v in z.get("TXT", []))])
    results = {}
    for label, record in [*enumerate(originals), ("merged", merged)]:
        with from_zones({**zones, "merge.test": {"TXT": [record]}}):
            results[label] = {ip: evaluate(ip, "merge.test") for ip in ips}
    for ip in ips:
        passes = any(results[i][ip] == "pass" for i in range(len(originals)))
        assert results["merged"][ip] == ("pass" if passes else "fail"), ip
    assert sum(r == "pass" for r in results["merged"].values()) > 10


# --- the flattening ---------------------------------------------------------------------

def flattened_and_original(name, domain=None, *, limit=10):
    data = case(name)
    domain = domain or data["domain"]
    zones = data["zones"]
    source = zones[domain]["TXT"][0]
    result = flatten(domain, source, zone_lookup(zones), limit=limit)
    return zones, domain, source, result


def assert_equivalent(zones, domain, source, flattened, extra=()):
    ips = sample_ips([flattened, *(v for z in zones.values() for v in z.get("TXT", []))])
    ips = sorted({*ips, *extra})
    with from_zones(zones), limits_lifted():
        original = {ip: evaluate(ip, domain) for ip in ips}
    with from_zones({**zones, domain: {**zones[domain], "TXT": [flattened]}}):
        after = {ip: evaluate(ip, domain) for ip in ips}
    assert {ip: (original[ip], after[ip]) for ip in ips if original[ip] != after[ip]} == {}
    assert set(original.values()) >= {"pass"} and len(ips) > 50
    return after


def test_flattening_15_lookups_inlines_the_most_expensive_includes_until_within_10():
    zones, domain, source, result = flattened_and_original("nested_15")
    assert (result.lookups_before, result.lookups_after) == (15, 7)
    # pa, pb and pd cost 4 each: inlining pa leaves 11, pb too leaves 7
    assert result.inlined == ("include:_spf.spf-pa.test", "include:_spf.spf-pb.test")
    assert "include:_spf.spf-pd.test" in result.text and "include:_spf.spf-pc.test" in result.text
    assert analyse(domain, zone_lookup({**zones, domain: {"TXT": [result.text]}})).lookups <= 10
    assert "ip4:192.0.2.0/25" in result.text  # _a1's /26 and _a2's /26, collapsed
    assert_equivalent(zones, domain, source, result.text)


def test_flattening_everything_still_evaluates_like_the_original():
    zones, domain, source, result = flattened_and_original("nested_15", limit=2)
    assert result.lookups_after == 2 and "include" not in result.text  # a and mx are left
    after = assert_equivalent(zones, domain, source, result.text)
    assert after["100.64.2.1"] == "pass" and after["198.51.100.20"] == "pass"


def test_flattening_keeps_what_is_within_the_limit_and_what_cannot_be_inlined():
    _zones, _domain, source, result = flattened_and_original("nested_10")
    assert result.text == source and not result.changed
    zones = {"macro.test": {"TXT": ["v=spf1 include:_m.macro.test -all"]},
             "_m.macro.test": {"TXT": ["v=spf1 exists:%{i}.x.macro.test -all"]}}
    result = flatten("macro.test", zones["macro.test"]["TXT"][0], zone_lookup(zones), limit=0)
    assert not result.changed and result.kept[0][0] == "include:_m.macro.test"
    assert [code for code, _t, _p in result.warnings] == ["still_over_limit"]


def test_a_provider_that_excludes_addresses_is_inlined_exactly():
    zones = {"ex.test": {"TXT": ["v=spf1 include:_p.ex.test include:_q.ex.test -all"]},
             "_p.ex.test": {"TXT": ["v=spf1 -ip4:192.0.2.5 ~ip4:192.0.2.8/30 ip4:192.0.2.0/24 "
                                    "redirect=_r.ex.test"]},
             "_r.ex.test": {"TXT": ["v=spf1 ip6:2001:db8:e::/48 ip4:198.51.100.1 ?all"]},
             "_q.ex.test": {"TXT": ["v=spf1 a:h.ex.test/30 mx:ex.test -all"]},
             "h.ex.test": {"A": ["203.0.113.9"]},
             "m.ex.test": {"A": ["203.0.113.100"], "AAAA": ["2001:db8:d::1"]}}
    zones["ex.test"]["MX"] = ["10 m.ex.test."]
    result = flatten("ex.test", zones["ex.test"]["TXT"][0], zone_lookup(zones), limit=0)
    assert result.lookups_after == 0 and "192.0.2.5" not in result.text.split()
    after = assert_equivalent(zones, "ex.test", zones["ex.test"]["TXT"][0], result.text,
                              extra=["192.0.2.4", "192.0.2.5", "192.0.2.9", "203.0.113.10"])
    assert after["192.0.2.5"] == "fail" and after["192.0.2.9"] == "fail"  # -ip4, ~ip4 first
    assert after["192.0.2.4"] == after["203.0.113.10"] == "pass"  # the /24, a:h/30

"""The SPF analysis pinned in golden files: each tests/dnszones/spf_golden/NAME.json holds a
domain and the zones it is evaluated in (a dict: name → type → values); NAME.expected.json
is the report (real total, void lookups, the tree with each include's count, errors and
warnings with their codes). UPDATE_GOLDEN=1 rewrites the expected files."""
import json
import os
from pathlib import Path

import pytest

from dnszones.spf import analyse, report_data

from .spf_oracle import zone_lookup

GOLDEN = Path(__file__).parent / "spf_golden"
CASES = sorted(p.stem for p in GOLDEN.glob("*.json") if not p.stem.endswith(".expected"))
# The totals the cases were built for (and the e2e test checks against the real Knot).
KNOWN = {"nested_9": 9, "nested_10": 10, "nested_11": 11, "nested_15": 15, "void_3": 4,
         "loop": 3, "missing_include": 3, "two_records": 1, "bad_syntax": 1, "guide": 5,
         "redirect": 4, "open_ptr": 1, "macros_after_all": 1, "mx_too_many": 1, "no_record": 0,
         "spf_type": 0}


def load(name):
    return json.loads((GOLDEN / f"{name}.json").read_text())


def report_for(name):
    case = load(name)
    return analyse(case["domain"], zone_lookup(case["zones"]))


@pytest.mark.parametrize("name", CASES)
def test_spf_report_matches_golden_file(name):
    data = report_data(report_for(name))
    path = GOLDEN / f"{name}.expected.json"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    assert path.exists(), f"missing {path}; run with UPDATE_GOLDEN=1 once"
    assert data == json.loads(path.read_text())


def test_every_case_has_its_known_total():
    assert set(KNOWN) == set(CASES)
    assert {name: report_for(name).lookups for name in CASES} == KNOWN


def test_the_real_total_goes_past_the_limit_and_the_tree_adds_up():
    report = report_for("nested_15")
    assert report.lookups == 15 and report.errors[0].code == "too_many_lookups"
    for node in report.tree.walk():
        assert node.subtotal == node.lookups + sum(child.subtotal for child in node.children)
    by_term = {child.term: 1 + child.subtotal for child in report.tree.children}
    assert by_term == {"include:_spf.spf-pa.test": 4, "include:_spf.spf-pb.test": 4,
                       "include:_spf.spf-pd.test": 4, "include:_spf.spf-pc.test": 1}


@pytest.mark.parametrize("name, errors, warnings", [
    ("nested_10", [], []),
    ("nested_11", ["too_many_lookups"], []),
    ("two_records", ["several_records"], []),
    ("void_3", ["too_many_void_lookups"], ["void_lookup"]),
    ("loop", ["include_loop"], []),
    ("missing_include", ["include_missing"], ["void_lookup"]),
    ("bad_syntax", ["syntax_error"], ["redirect_ignored"]),
    ("open_ptr", ["pass_all"], ["ptr"]),
    ("spf_type", [], ["spf_record_type"]),
    ("macros_after_all", [], ["macros", "redirect_ignored", "terms_after_all", "unknown_modifier"]),
    ("mx_too_many", ["mx_too_many_names"], []),
    ("no_record", ["no_record"], []),
])
def test_each_problem_has_its_code(name, errors, warnings):
    report = report_for(name)
    assert sorted({f.code for f in report.errors}) == errors
    assert sorted({f.code for f in report.warnings}) == warnings


def test_void_lookups_and_syntax_errors_are_exact():
    assert report_for("void_3").void_lookups == 3
    assert report_for("missing_include").void_lookups == 1  # a TXT that is not SPF is no void
    errors = [(f.position, f.term) for f in report_for("bad_syntax").errors]
    record = load("bad_syntax")["zones"]["spf-syntax.test"]["TXT"][0]
    assert errors == [(record.index("ip4:") + 1, "ip4:192.0.2.300"),
                      (record.index("foo:") + 1, "foo:bar"),
                      (record.index("a:l") + 1, "a:localhost"),
                      (record.rindex("redirect=") + 1, "redirect=b.spf-pc.test")]
    assert all(record[p - 1:].startswith(term) for p, term in errors)


def test_void_lookups_are_counted_per_address_family_as_pyspf_counts_them():
    from .spf_oracle import evaluate, from_zones

    zones = {"fam.test": {"TXT": ["v=spf1 a:h1.fam.test a:h2.fam.test mx -all"],
                          "MX": ["10 m.fam.test."]},
             "h1.fam.test": {"A": ["192.0.2.1"]}, "h2.fam.test": {"A": ["192.0.2.2"]},
             "m.fam.test": {"A": ["192.0.2.3"]}}
    report = analyse("fam.test", zone_lookup(zones))
    assert report.void_lookups == 3 and report.errors[0].code == "too_many_void_lookups"
    with from_zones(zones):  # three names without AAAA: an error for mail from IPv6 only
        assert evaluate("2001:db8::1", "fam.test") == "permerror"
        assert evaluate("198.51.100.1", "fam.test") == "fail"

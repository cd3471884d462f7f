"""The security check's pure core against golden files (tests/dnszones/security_golden/):
each case's DNS answers (name → type → values) and the stored DKIM keys give exactly the
findings of its `.expected.json` — code, severity, English message and fix. Regenerate a
golden file after a deliberate change with SECURITY_GOLDEN_WRITE=1, and read the diff."""
import json
import os
from pathlib import Path

import pytest

from dnszones import security
from dnszones.security import dmarc
from dnszones.security.checks import Expected

GOLDEN = Path(__file__).parent / "security_golden"
CASES = sorted(p.stem for p in GOLDEN.glob("*.json") if not p.stem.endswith(".expected"))
CLIENTS = {"autoconfig": ("CNAME", "autoconfig.example.net."),
           "autodiscover": ("CNAME", "autodiscover.example.net."),
           "_imaps._tcp": ("SRV", "0 1 993 imap.example.net."),
           "_submission._tcp": ("SRV", "0 1 587 smtp.example.net.")}


def expected_for(case: dict) -> Expected:
    return Expected(mx_hosts=("mx.example.net", "mx2.example.net"), mx_target="mx.example.net",
                    spf_include="_spf.example.net", dkim=tuple(map(tuple, case["dkim"])),
                    clients=CLIENTS, dmarc="v=DMARC1; p=quarantine")


def lookup_in(zones: dict):
    def lookup(name, rtype):
        return zones.get(name.rstrip(".").lower(), {}).get(rtype, [])
    return lookup


def findings_of(case: dict) -> list[dict]:
    findings = security.check(case["domain"], lookup_in(case["zones"]), expected_for(case))
    return [security.finding_data(f, case["domain"]) for f in findings]


@pytest.mark.parametrize("case", CASES)
def test_security_findings_match_the_golden_file(case):
    data = json.loads((GOLDEN / f"{case}.json").read_text())
    found = findings_of(data)
    path = GOLDEN / f"{case}.expected.json"
    if os.environ.get("SECURITY_GOLDEN_WRITE"):
        path.write_text(json.dumps(found, indent=1, ensure_ascii=False) + "\n")
    assert found == json.loads(path.read_text())


def codes(case):
    return {(f["code"], f["severity"]) for f in findings_of(json.loads((GOLDEN / f"{case}.json").read_text()))}


def test_the_problem_zone_reports_mx_elsewhere_spf_without_our_include_and_no_dmarc():
    found = codes("problems")
    assert {("mx_elsewhere", "error"), ("spf_without_our_include", "error"),
            ("dmarc_missing", "warning"), ("autodiscover_missing", "warning")} <= found
    assert ("autoconfig_missing", "warning") not in found  # its CNAME is there


def test_a_correct_zone_has_only_ok_findings():
    assert {severity for _code, severity in codes("all_good")} == {"ok"}
    assert security.worst(security.check("x.test", lambda n, t: [], expected_for(
        {"dkim": []}))) == "error"


def test_fixes_replace_exactly_the_values_the_dns_answers():
    case = json.loads((GOLDEN / "problems.json").read_text())
    fixes = {f["code"]: f["fix"] for f in findings_of(case)}
    assert fixes["mx_elsewhere"] == {
        "name": "@", "fqdn": "problems.test", "type": "MX", "value": "10 mx.example.net.",
        "replaces": ["10 mx.elsewhere.test."], "record": "problems.test. IN MX 10 mx.example.net."}
    assert fixes["spf_without_our_include"]["value"] == (
        "v=spf1 include:_spf.example.net include:_spf.elsewhere.test -all")
    assert fixes["dmarc_missing"]["record"] == '_dmarc.problems.test. IN TXT "v=DMARC1; p=quarantine"'


def test_a_failed_lookup_is_unknown_not_absent():
    def failing(name, rtype):
        raise security.checks.spf.DnsFailure("timeout")
    found = security.check("x.test", failing, expected_for({"dkim": [["s", "K"]]}))
    assert {f.code for f in found} >= {"mx_lookup_failed", "spf_lookup_failed", "dmarc_lookup_failed"}
    assert not any(f.code.endswith("_missing") for f in found)


def test_the_cache_form_gives_the_same_findings_back():
    for case in CASES:
        data = json.loads((GOLDEN / f"{case}.json").read_text())
        findings = security.check(data["domain"], lookup_in(data["zones"]), expected_for(data))
        stored = json.loads(json.dumps(security.findings_to_json(findings)))
        assert security.findings_from_json(stored) == findings


@pytest.mark.parametrize(("record", "problems"), [
    ("v=DMARC1; p=reject", []),
    ("v=DMARC1; p=none; rua=mailto:a@x.test,mailto:b@y.test; ruf=mailto:f@x.test; pct=0", []),
    ("v=DMARC1", ["The policy tag p= is missing (p=none, p=quarantine or p=reject)."]),
    ("p=reject; v=DMARC1", ["The record must start with v=DMARC1.", "v= must be the first tag, once."]),
    ("v=DMARC1; p=reject; p=none", ["The tag p appears twice."]),
    ("v=DMARC1; p=reject; rua=mailto:", ["rua=mailto:: report addresses are mailto: URIs "
                                        "(rua=mailto:dmarc@example.com)."]),
    ("v=DMARC1; p=reject; pct=-1", ["pct=-1 is not a percentage from 0 to 100."]),
    ("v=DMARC1; p=reject; aspf=relaxed", ["aspf=relaxed: the alignment mode is r (relaxed) or s (strict)."]),
    ("v=DMARC1; p=reject; junk", ["“junk” is not a tag=value pair."]),
])
def test_dmarc_tags_are_checked(record, problems):
    parsed = dmarc.parse_dmarc(record)
    assert [t % p for t, p in parsed.problems] == problems


def test_a_repaired_dmarc_record_keeps_the_valid_tags():
    parsed = dmarc.parse_dmarc("v=DMARC1; rua=mailto:d@x.test; pct=300; adkim=s")
    assert dmarc.repaired(parsed) == "v=DMARC1; p=none; rua=mailto:d@x.test; adkim=s"
    assert dmarc.parse_dmarc(dmarc.repaired(parsed)).problems == []

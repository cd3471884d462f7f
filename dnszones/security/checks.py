"""The checks, one area after the other: MX, SPF (the SPF doctor's analysis), DKIM, DMARC,
the names mail clients look up. A finding's fix is the one record change that repairs it,
as zone data: `name` relative to the zone (`@` the apex), the record to create and the
values of the same name and type it replaces; a finding without a one-record repair has
no fix (the message says what to do)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .. import spf
from ..spf.terms import gettext_noop
from . import dmarc as dmarc_core

Lookup = Callable[[str, str], Sequence[str]]
SEVERITIES = ("ok", "info", "warning", "error")  # from the best to the worst
# The names mail clients look up to configure themselves (Thunderbird's autoconfig,
# Outlook's autodiscover, RFC 6186 SRV records).
CLIENT_NAMES = ("autoconfig", "autodiscover", "_imaps._tcp", "_submission._tcp")
CLIENT_CODES = {"autoconfig": "autoconfig_missing", "autodiscover": "autodiscover_missing",
                "_imaps._tcp": "imaps_srv_missing", "_submission._tcp": "submission_srv_missing"}


@dataclass(frozen=True)
class Expected:
    """What our mail service needs in the domain's DNS."""

    mx_hosts: tuple[str, ...]  # every host an MX of ours may point at
    mx_target: str  # the one a fix points at (the domain's backend host's)
    spf_include: str
    dkim: tuple[tuple[str, str], ...] = ()  # (selector, public key base64)
    clients: dict = field(default_factory=dict)  # CLIENT_NAMES → (type, value) a fix creates
    dmarc: str = "v=DMARC1; p=quarantine"  # the record a fix creates


@dataclass(frozen=True)
class Fix:
    name: str  # relative to the zone
    type: str
    value: str  # the record to create, in zone-file text (TXT: its text, unquoted); "": none
    replaces: tuple[str, ...] = ()  # values at that name and type it replaces


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    area: str
    template: str
    params: dict = field(default_factory=dict)
    fix: Fix | None = None


def worst(findings) -> str:
    return max((f.severity for f in findings), key=SEVERITIES.index, default="ok")


def _host(name: str) -> str:
    return name.strip().rstrip(".").lower()


def _fqdn(name: str, domain: str) -> str:
    return domain if name == "@" else f"{name}.{domain}"


class _Check:
    def __init__(self, domain: str, lookup: Lookup, expected: Expected):
        self.domain, self.lookup, self.expected = domain.rstrip(".").lower(), lookup, expected
        self.findings: list[Finding] = []

    def add(self, code, severity, area, template, params=None, fix=None):
        self.findings.append(Finding(code, severity, area, template, params or {}, fix))

    def query(self, area: str, name: str, rtype: str):
        try:
            return list(self.lookup(_fqdn(name, self.domain), rtype))
        except spf.DnsFailure:
            self.add(f"{area}_lookup_failed", "warning", area, gettext_noop(
                "The DNS gave no answer for %(name)s (%(type)s): this part could not be "
                "checked, try again later."), {"name": _fqdn(name, self.domain), "type": rtype})
            return None

    # --- MX -------------------------------------------------------------------------------
    def mx(self):
        values = self.query("mx", "@", "MX")
        if values is None:
            return
        ours = {_host(h) for h in self.expected.mx_hosts}
        target = _host(self.expected.mx_target)
        fix = Fix("@", "MX", f"10 {target}.", tuple(values))
        hosts = [_host(v.split()[-1]) for v in values if v.split()]
        if not hosts:
            self.add("mx_missing", "error", "mx", gettext_noop(
                "No MX record: mail sent to %(domain)s cannot be delivered to our servers."),
                {"domain": self.domain}, fix)
        elif not any(h in ours for h in hosts):
            self.add("mx_elsewhere", "error", "mx", gettext_noop(
                "The MX records point at %(hosts)s, not at our servers (%(ours)s): mail for "
                "%(domain)s is delivered elsewhere."),
                {"hosts": ", ".join(sorted(set(hosts))), "ours": target, "domain": self.domain}, fix)
        elif not all(h in ours for h in hosts):
            others = sorted({h for h in hosts if h not in ours})
            self.add("mx_mixed", "warning", "mx", gettext_noop(
                "Some MX records point at other servers (%(hosts)s): mail sent there does "
                "not reach the mailboxes here."), {"hosts": ", ".join(others)},
                Fix("@", "MX", "", tuple(v for v in values if _host(v.split()[-1]) in others)))
        else:
            self.add("mx_ok", "ok", "mx", gettext_noop("The MX records point at our servers."))

    # --- SPF ------------------------------------------------------------------------------
    def spf(self):
        include = _host(self.expected.spf_include)
        report = spf.analyse(self.domain, self.lookup)
        if report.records_found == 0 and report.errors and report.errors[0].code == "lookup_failed":
            self.add("spf_lookup_failed", "warning", "spf", report.errors[0].template,
                     report.errors[0].params)
            return
        if report.records_found == 0:
            self.add("spf_missing", "error", "spf", gettext_noop(
                "No SPF record: receiving servers cannot tell our servers are allowed to "
                "send mail for %(domain)s."), {"domain": self.domain},
                Fix("@", "TXT", f"v=spf1 include:{include} -all"))
            return
        if report.records_found > 1:
            self.add("spf_several", "error", "spf", gettext_noop(
                "%(count)d SPF records: several SPF records cause errors. Merge them into one "
                "on the SPF page."), {"count": report.records_found})
        for error in report.errors:
            if error.code != "several_records":
                self.add(f"spf_{error.code}", "error", "spf", error.template, error.params)
        for warning in report.warnings:
            self.add(f"spf_{warning.code}", "warning", "spf", warning.template, warning.params)
        if report.records_found == 1 and not _includes(report.tree, include):
            record = report.record
            words = record.split()
            self.add("spf_without_our_include", "error", "spf", gettext_noop(
                "The SPF record does not include %(include)s: mail sent through our servers "
                "may be refused or marked as spam."), {"include": include},
                Fix("@", "TXT", " ".join([words[0], f"include:{include}", *words[1:]]), (record,)))
        if not any(f.area == "spf" for f in self.findings):
            self.add("spf_ok", "ok", "spf", gettext_noop(
                "The SPF record is valid, includes our servers and makes %(lookups)d of the "
                "10 DNS lookups allowed."), {"lookups": report.lookups})

    # --- DKIM -----------------------------------------------------------------------------
    def dkim(self):
        if not self.expected.dkim:
            self.add("dkim_no_key", "info", "dkim", gettext_noop(
                "No DKIM key is stored for %(domain)s yet: its mail is not signed."),
                {"domain": self.domain})
            return
        for selector, key in self.expected.dkim:
            name = f"{selector}._domainkey"
            values = self.query("dkim", name, "TXT")
            if values is None:
                continue
            record = f"v=DKIM1; k=rsa; p={key}"
            published = [v for v in values if "p=" in v]
            keys = [_dkim_key(v) for v in published]
            params = {"selector": selector, "name": _fqdn(name, self.domain)}
            if not published:
                self.add("dkim_missing", "error", "dkim", gettext_noop(
                    "The DKIM selector %(selector)s is not published at %(name)s: receivers "
                    "cannot verify the signatures of your mail."), params,
                    Fix(name, "TXT", record, tuple(values)))
            elif key.replace(" ", "") not in keys:
                self.add("dkim_mismatch", "error", "dkim", gettext_noop(
                    "The key published at %(name)s is not the one your mail is signed with: "
                    "the signatures fail."), params, Fix(name, "TXT", record, tuple(values)))
            else:
                self.add("dkim_ok", "ok", "dkim", gettext_noop(
                    "The DKIM selector %(selector)s is published with the right key."), params)

    # --- DMARC ----------------------------------------------------------------------------
    def dmarc(self):
        values = self.query("dmarc", "_dmarc", "TXT")
        if values is None:
            return
        records = [v for v in values if v.replace(" ", "").lower().startswith("v=dmarc1")]
        if not records:
            self.add("dmarc_missing", "warning", "dmarc", gettext_noop(
                "No DMARC record: receivers are not told what to do with mail that fails "
                "SPF and DKIM, and you get no reports."), {},
                Fix("_dmarc", "TXT", self.expected.dmarc, tuple(values)))
            return
        if len(records) > 1:
            self.add("dmarc_several", "error", "dmarc", gettext_noop(
                "%(count)d DMARC records: receivers then apply none of them."),
                {"count": len(records)}, Fix("_dmarc", "TXT", self.expected.dmarc, tuple(values)))
            return
        parsed = dmarc_core.parse_dmarc(records[0])
        if parsed.problems:
            fixed = dmarc_core.repaired(parsed)
            for template, params in parsed.problems:
                self.add("dmarc_invalid", "error", "dmarc", template, params,
                         Fix("_dmarc", "TXT", fixed, tuple(values)))
        policy = parsed.tags.get("p")
        if policy is None:
            return
        self.add("dmarc_policy", "warning" if policy == "none" else "ok", "dmarc", gettext_noop(
            "DMARC policy: %(policy)s; %(share)s; %(subdomains)s; %(reports)s; %(alignment)s."),
            dmarc_core.summary(parsed))

    # --- client configuration names -------------------------------------------------------
    def clients(self):
        missing, unknown = [], False
        for name in CLIENT_NAMES:
            types = ("SRV",) if name.startswith("_") else ("CNAME", "A", "AAAA")
            for rtype in types:
                values = self.query("clients", name, rtype)
                if values is None:
                    unknown = True  # not reported as missing
                    break
                if values:
                    break
            else:
                missing.append(name)
                rtype, value = self.expected.clients.get(name, (types[0], ""))
                self.add(CLIENT_CODES[name], "warning", "clients", gettext_noop(
                    "%(name)s is not published: mail programs cannot find their settings "
                    "on their own."), {"name": _fqdn(name, self.domain)},
                    Fix(name, rtype, value) if value else None)
        if not missing and not unknown:
            self.add("client_names_ok", "ok", "clients", gettext_noop(
                "The names mail programs look up to configure themselves are published."))


def _includes(node, include: str) -> bool:
    if node is None:
        return False
    if node.via != "record" and _host(node.domain) == include:
        return True
    return any(_includes(child, include) for child in node.children)


def _dkim_key(value: str) -> str:
    for part in value.split(";"):
        tag, _sep, val = part.strip().partition("=")
        if tag.strip() == "p":
            return "".join(val.split())
    return ""


def check(domain: str, lookup: Lookup, expected: Expected) -> list[Finding]:
    """Every finding of the domain, area after area (errors of an area before its ok)."""
    state = _Check(domain, lookup, expected)
    state.mx()
    state.spf()
    state.dkim()
    state.dmarc()
    state.clients()
    return state.findings


# --- data for the API and the cache ---------------------------------------------------------

def _english(template: str, params: dict) -> str:
    return spf.render_message(template, params)


def fix_data(fix: Fix | None, domain: str) -> dict | None:
    if fix is None:
        return None
    shown = f'"{fix.value}"' if fix.type == "TXT" else fix.value
    return {"name": fix.name, "fqdn": _fqdn(fix.name, domain), "type": fix.type,
            "value": fix.value, "replaces": list(fix.replaces),
            "record": f"{_fqdn(fix.name, domain)}. IN {fix.type} {shown}" if fix.value else ""}


def finding_data(finding: Finding, domain: str, message=_english) -> dict:
    return {"code": finding.code, "severity": finding.severity, "area": finding.area,
            "message": message(finding.template, finding.params),
            "fix": fix_data(finding.fix, domain)}


def _params_json(params: dict) -> dict:
    return {k: {"template": v[0], "params": _params_json(v[1])} if isinstance(v, tuple) else v
            for k, v in params.items()}


def _params_back(params: dict) -> dict:
    return {k: (v["template"], _params_back(v["params"])) if isinstance(v, dict) else v
            for k, v in params.items()}


def findings_to_json(findings: list[Finding]) -> list[dict]:
    """The findings language-neutral (templates and parameters), for the cache."""
    return [{"code": f.code, "severity": f.severity, "area": f.area, "template": f.template,
             "params": _params_json(f.params),
             "fix": None if f.fix is None else {"name": f.fix.name, "type": f.fix.type,
                                                "value": f.fix.value,
                                                "replaces": list(f.fix.replaces)}}
            for f in findings]


def findings_from_json(data: list[dict]) -> list[Finding]:
    return [Finding(d["code"], d["severity"], d["area"], d["template"], _params_back(d["params"]),
                    None if d["fix"] is None else Fix(d["fix"]["name"], d["fix"]["type"],
                                                      d["fix"]["value"], tuple(d["fix"]["replaces"])))
            for d in data]

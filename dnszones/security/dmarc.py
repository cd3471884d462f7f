"""DMARC records (RFC 7489 §6.3): the tags checked one by one, a repaired record that keeps
what is valid, and a readable summary of the policy."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..spf.terms import gettext_noop

POLICIES = ("none", "quarantine", "reject")
ALIGNMENTS = ("r", "s")

POLICY_MEANING = {
    "none": gettext_noop("mail failing the DMARC check is delivered anyway (monitoring only)"),
    "quarantine": gettext_noop("mail failing the DMARC check is put in the recipient's spam folder"),
    "reject": gettext_noop("mail failing the DMARC check is refused"),
}
ALIGNMENT_NAME = {"r": gettext_noop("relaxed"), "s": gettext_noop("strict")}


@dataclass
class Dmarc:
    record: str
    tags: dict[str, str] = field(default_factory=dict)  # the valid ones, in order
    problems: list[tuple[str, dict]] = field(default_factory=list)  # (template, params)


def _mailto_list(value: str) -> bool:
    for uri in value.split(","):
        uri = uri.strip()
        if not uri.lower().startswith("mailto:") or "@" not in uri[7:] or uri[7:].startswith("@"):
            return False
    return bool(value.strip())


def _check(tag: str, value: str):
    """None if the value is valid, else the problem's template."""
    if tag in ("p", "sp"):
        return None if value.lower() in POLICIES else gettext_noop(
            "%(tag)s=%(value)s is not a policy: use none, quarantine or reject.")
    if tag in ("rua", "ruf"):
        return None if _mailto_list(value) else gettext_noop(
            "%(tag)s=%(value)s: report addresses are mailto: URIs (rua=mailto:dmarc@example.com).")
    if tag == "pct":
        return None if value.isdigit() and 0 <= int(value) <= 100 else gettext_noop(
            "pct=%(value)s is not a percentage from 0 to 100.")
    if tag in ("adkim", "aspf"):
        return None if value.lower() in ALIGNMENTS else gettext_noop(
            "%(tag)s=%(value)s: the alignment mode is r (relaxed) or s (strict).")
    return None  # other tags (fo, rf, ri) are not checked; unknown ones are ignored (§6.3)


def parse_dmarc(record: str) -> Dmarc:
    result = Dmarc(record)
    parts = [p.strip() for p in record.split(";")]
    parts = [p for p in parts if p]
    seen = set()
    for index, part in enumerate(parts):
        tag, sep, value = part.partition("=")
        tag, value = tag.strip().lower(), value.strip()
        if not sep:
            result.problems.append((gettext_noop("“%(part)s” is not a tag=value pair."), {"part": part}))
            continue
        if index == 0:
            if tag == "v" and value == "DMARC1":
                continue
            result.problems.append((gettext_noop("The record must start with v=DMARC1."), {}))
        if tag == "v":
            result.problems.append((gettext_noop("v= must be the first tag, once."), {}))
            continue
        if tag in seen:
            result.problems.append((gettext_noop("The tag %(tag)s appears twice."), {"tag": tag}))
            continue
        seen.add(tag)
        problem = _check(tag, value)
        if problem:
            result.problems.append((problem, {"tag": tag, "value": value}))
        else:
            result.tags[tag] = value.lower() if tag in ("p", "sp", "adkim", "aspf") else value
    if "p" not in result.tags and not any("policy" in t for t, _p in result.problems):
        result.problems.append((gettext_noop(
            "The policy tag p= is missing (p=none, p=quarantine or p=reject)."), {}))
    return result


def repaired(parsed: Dmarc) -> str:
    """The record with its valid tags kept and the policy p=none added if missing."""
    tags = {"p": "none", **parsed.tags} if "p" not in parsed.tags else dict(parsed.tags)
    order = ["p"] + [t for t in tags if t != "p"]
    return "; ".join(["v=DMARC1"] + [f"{t}={tags[t]}" for t in order])


def summary(parsed: Dmarc) -> dict:
    """The policy in plain words: message parameters for the summary template."""
    tags = parsed.tags
    policy = tags.get("p", "none")
    pct = tags.get("pct", "100")
    params = {"policy": (POLICY_MEANING[policy], {})}
    params["share"] = ((gettext_noop("this applies to all of it"), {}) if pct == "100" else
                       (gettext_noop("this applies to %(pct)s%% of it, the rest is delivered"),
                        {"pct": pct}))
    params["subdomains"] = ((gettext_noop("subdomains follow the same policy"), {})
                            if "sp" not in tags else
                            (gettext_noop("for subdomains: %(policy)s"),
                             {"policy": (POLICY_MEANING[tags["sp"]], {})}))
    params["reports"] = ((gettext_noop("aggregate reports are sent to %(addresses)s"),
                          {"addresses": ", ".join(u.strip()[7:] for u in tags["rua"].split(","))})
                         if "rua" in tags else
                         (gettext_noop("no reports are requested (add rua=mailto:… to receive them)"), {}))
    params["alignment"] = (gettext_noop("SPF alignment is %(aspf)s, DKIM alignment is %(adkim)s"),
                           {"aspf": (ALIGNMENT_NAME[tags.get("aspf", "r")], {}),
                            "adkim": (ALIGNMENT_NAME[tags.get("adkim", "r")], {})})
    return params

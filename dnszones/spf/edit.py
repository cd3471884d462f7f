"""Changes to an SPF record's text: the qualifier of its `all` (strict -all, soft ~all,
neutral ?all), and the merge of several providers' records into the one record a name may
have (the guide's `v=spf1 include:a include:b include:c -all`)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from .terms import STRICTNESS, Term, gettext_noop, parse, render, render_message

QUALIFIER_CHOICES = ("-", "~", "?")


@dataclass
class EditRefused(Exception):
    code: str
    template: str
    params: dict = field(default_factory=dict)

    def __str__(self):
        return render_message(self.template, self.params)


@dataclass(frozen=True)
class Merged:
    text: str
    warnings: tuple[tuple[str, str, dict], ...] = ()  # (code, template, params)


def _parsed(text: str):
    parsed = parse(text)
    if not parsed.ok:
        problem = parsed.problems[0]
        raise EditRefused("invalid_spf", gettext_noop(
            "“%(record)s” is not a valid SPF record (column %(position)d: %(problem)s)."),
            {"record": text.strip()[:200], "position": problem.position,
             "problem": (problem.template, problem.params)})
    return parsed


def _no_pass_all(parsed) -> None:
    all_term = parsed.all_term
    if all_term is not None and all_term.qualifier == "+":
        raise EditRefused("pass_all", gettext_noop(
            "“%(record)s” ends with “+all”, which lets every server in the world send mail as "
            "this domain: it cannot be merged. Ask the provider for its real record."),
            {"record": parsed.text.strip()[:200]})


def with_qualifier(text: str, qualifier: str) -> str:
    """The record with its `all` set to `qualifier`. A record without `all` gets one at
    the end; its redirect becomes an include first (a redirect beside `all` would never be
    followed)."""
    if qualifier not in QUALIFIER_CHOICES:
        raise EditRefused("invalid_qualifier", gettext_noop("Choose -all, ~all or ?all."))
    parsed = _parsed(text)
    terms = [t for t in parsed.terms if not (t.kind == "mechanism" and t.name == "all")
             and not (t.kind == "modifier" and t.name == "redirect")]
    cut = next((i for i, t in enumerate(terms) if t.kind == "modifier"), len(terms))
    mechanisms, modifiers = terms[:cut], terms[cut:]
    redirect = parsed.modifier("redirect")
    if redirect is not None and parsed.all_term is None:
        mechanisms.append(Term(f"include:{redirect.domain}", 0, "mechanism", "include",
                               domain=redirect.domain, macros=redirect.macros))
    all_term = Term(f"{qualifier}all", 0, "mechanism", "all", qualifier=qualifier)
    return render([*mechanisms, all_term, *modifiers])


def merge(texts) -> Merged:
    """One record saying what all `texts` say: addresses (ip4, ip6) first, then the other
    mechanisms in order, duplicates removed; a redirect becomes an include, `exp=` is
    dropped (with a warning), and one `all` ends it with the strictest qualifier of the
    inputs (-all when none has one). A record with `+all` is refused."""
    records = [t.strip() for t in texts if t and t.strip()]
    if not records:
        raise EditRefused("nothing_to_merge", gettext_noop("Give at least one SPF record."))
    addresses, others, qualifiers, seen = [], [], [], set()
    warnings = []

    def add(term: Term) -> None:
        if term.key in seen:
            return
        seen.add(term.key)
        (addresses if term.name in ("ip4", "ip6") else others).append(term)

    for text in records:
        parsed = _parsed(text)
        _no_pass_all(parsed)
        for term in parsed.terms:
            if term.kind == "mechanism" and term.name == "all":
                qualifiers.append(term.qualifier)
            elif term.kind == "mechanism":
                add(term)
            elif term.name == "redirect":
                if parsed.all_term is None:  # else never followed: dropping it changes nothing
                    add(Term(f"include:{term.domain}", term.position, "mechanism", "include",
                             domain=term.domain, macros=term.macros))
            elif term.name == "exp":
                warnings.append(("exp_dropped", gettext_noop(
                    "“%(term)s” was dropped: one record has one explanation, and the merged "
                    "record speaks for several providers."), {"term": term.text}))
            else:
                warnings.append(("unknown_modifier_dropped", gettext_noop(
                    "“%(term)s” was dropped: receivers do not know this modifier."),
                    {"term": term.text}))
    qualifier = max(qualifiers, key=STRICTNESS.__getitem__) if qualifiers else "-"
    if not qualifiers:
        warnings.append(("all_added", gettext_noop(
            "None of the records ended with “all”: the merged record ends with the strict "
            "“-all”."), {}))
    # ip4/ip6 first: matching them costs no lookup, so most mail is decided before any include
    ordered = [replace(t, position=0) for t in (*addresses, *others)]
    all_term = Term(f"{qualifier}all", 0, "mechanism", "all", qualifier=qualifier)
    return Merged(render([*ordered, all_term]), tuple(warnings))

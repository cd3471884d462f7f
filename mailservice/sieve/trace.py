"""What a dry run of a Sieve script on a message would do, read from sieve-test's output,
and which sorting rules match, for the "test these rules" feature (pure; the runs
themselves are in `mailservice.pigeonhole`).

sieve-test's report lists "Performed actions" and the "Implicit keep"; its trace
(`-T level=commands`) adds header edits, which the action list omits. Pigeonhole
shortens traced header values to ~80 characters: such edits are flagged `truncated`.

Which standard rules matched: trace line numbers are not reliable enough to map
actions back to rules (Pigeonhole shifts them around optimised-out code), so matching
is measured separately. One probe script holds every enabled rule's test, each
followed by `fileinto "<marker-N>"`; tests have no side effects, so the marker folders
in its result are exactly the rules whose conditions hold. Each matched rule is then
run alone (compiled to the same text as in the full script) to show its own effect,
and the full script gives the final result.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .compiler import INDENT, SCRIPT_HEADER, CompiledScript, condition_lines, quote, require_line
from .diagnostics import parse_diagnostics
from .rules import Action, Rule

PROBE_PREFIX = "mm-probe-"

# sieve-test prints system flags in lower case; show them as IMAP spells them.
_SYSTEM_FLAGS = {
    flag.lower(): flag for flag in ("\\Seen", "\\Flagged", "\\Answered", "\\Deleted", "\\Draft")
}
_TRACE_LINE_RE = re.compile(r"^\s*(\d+): (.*)$")
_ADDHEADER_RE = re.compile(r'^addheader (?::last )?"(.*)"$')
_DELETE_RE = re.compile(r"^deleting header `(.*?)'")
_DELETE_MATCHING_RE = re.compile(r"^deleting matching occurrences of header `(.*)'$")


@dataclass(frozen=True)
class SimAction:
    """One action as sieve-test reports it.

    kind: "store" (target = folder; INBOX for a keep), "redirect" (target = address),
    "discard", "vacation", "reject", "notify" or "other" (target = sieve-test's text).
    """

    kind: str
    target: str = ""
    flags: tuple[str, ...] = ()
    create: bool = False  # fileinto :create
    copy: bool = False  # :copy — the implicit keep is preserved
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class HeaderEdit:
    operation: str  # "add" or "delete"
    name: str
    value: str | None = None  # added value, or the value matched for deletion
    truncated: bool = False  # Pigeonhole cut the value in its trace


@dataclass(frozen=True)
class TraceStep:
    line: int
    text: str


@dataclass(frozen=True)
class Trace:
    actions: tuple[SimAction, ...]
    implicit_keep: SimAction | None
    header_edits: tuple[HeaderEdit, ...] = ()
    steps: tuple[TraceStep, ...] = ()
    errors: tuple[str, ...] = ()  # runtime errors (e.g. conflicting actions)
    success: bool = True

    @property
    def final_actions(self) -> tuple[SimAction, ...]:
        keep = (self.implicit_keep,) if self.implicit_keep else ()
        return self.actions + keep

    @property
    def folders(self) -> tuple[str, ...]:
        """Folders the message lands in, INBOX included when kept."""
        return tuple(a.target for a in self.final_actions if a.kind == "store")

    @property
    def redirects(self) -> tuple[str, ...]:
        return tuple(a.target for a in self.actions if a.kind == "redirect")

    @property
    def discarded(self) -> bool:
        return any(a.kind == "discard" for a in self.actions) and not self.folders

    def flags_in(self, folder: str) -> tuple[str, ...]:
        for action in self.final_actions:
            if action.kind == "store" and action.target == folder:
                return action.flags
        return ()


@dataclass(frozen=True)
class RuleOutcome:
    position: int  # 1-based, as in the compiled script's "# Rule N"
    name: str
    enabled: bool
    matched: bool  # its conditions hold for this message
    applied: bool  # matched and reached (no earlier matching rule had "stop")
    actions: tuple[SimAction, ...] = ()  # what the rule alone does, per sieve-test
    rule_actions: tuple[Action, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class RuleTestResult:
    outcomes: tuple[RuleOutcome, ...]
    trace: Trace  # the whole rule set on this message
    script: CompiledScript

    @property
    def matched(self) -> tuple[RuleOutcome, ...]:
        return tuple(outcome for outcome in self.outcomes if outcome.matched)


def _describe(text: str) -> SimAction:
    if text.startswith("store message in folder: "):
        return SimAction("store", text.removeprefix("store message in folder: "))
    if text.startswith("redirect message to: "):
        target = text.removeprefix("redirect message to: ")
        return SimAction("redirect", target.removeprefix("<").removesuffix(">"))
    if text == "discard":
        return SimAction("discard")
    for kind in ("vacation", "reject", "notify"):
        if kind in text:
            return SimAction(kind, text)
    return SimAction("other", text)


def _with_detail(action: SimAction, detail: str) -> SimAction:
    if detail == "create mailbox if it does not exist":
        return SimAction(**{**action.__dict__, "create": True})
    if detail == "preserve implicit keep":
        return SimAction(**{**action.__dict__, "copy": True})
    if detail.startswith("add IMAP flags: "):
        flags = tuple(
            _SYSTEM_FLAGS.get(flag.lower(), flag)
            for flag in detail.removeprefix("add IMAP flags: ").split()
        )
        return SimAction(**{**action.__dict__, "flags": flags})
    return SimAction(**{**action.__dict__, "details": (*action.details, detail)})


def parse_result(stdout: str) -> tuple[tuple[SimAction, ...], SimAction | None]:
    """(performed actions, implicit keep) from sieve-test's dry-run report."""
    sections: dict[str, list[SimAction]] = {"actions": [], "keep": []}
    section = None
    for line in stdout.splitlines():
        stripped = line.strip()
        if stripped == "Performed actions:":
            section = "actions"
        elif stripped == "Implicit keep:":
            section = "keep"
        elif section is None or not stripped or stripped == "(none)":
            continue
        elif line.startswith(" * "):
            sections[section].append(_describe(line[3:].strip()))
        elif sections[section]:
            detail = stripped.removeprefix("+ ").strip()
            sections[section][-1] = _with_detail(sections[section][-1], detail)
    keep = sections["keep"][0] if sections["keep"] else None
    return tuple(sections["actions"]), keep


def parse_trace(text: str) -> tuple[tuple[TraceStep, ...], tuple[HeaderEdit, ...]]:
    steps, edits = [], []
    for line in text.splitlines():
        match = _TRACE_LINE_RE.match(line)
        if not match:
            continue
        number, content = int(match.group(1)), match.group(2)
        steps.append(TraceStep(number, content.strip()))
        content = content.strip()
        if found := _ADDHEADER_RE.match(content):
            name, _, value = found.group(1).partition(": ")
            edits.append(HeaderEdit("add", name, value, truncated=value.endswith("...")))
        elif found := _DELETE_MATCHING_RE.match(content):
            edits.append(HeaderEdit("delete", found.group(1)))
        elif content.startswith("deleting header with value `") and edits:
            value = content.removeprefix("deleting header with value `").removesuffix("'")
            last = edits[-1]
            edits[-1] = HeaderEdit("delete", last.name, value, truncated=value.endswith("..."))
        elif found := _DELETE_RE.match(content):
            edits.append(HeaderEdit("delete", found.group(1)))
    return tuple(steps), tuple(edits)


def final_results(stderr: str) -> list[str]:
    """sieve-test's "final result: …" lines; none when it never got to run the script."""
    return [line for line in stderr.splitlines() if "final result:" in line]


def read_trace(stdout: str, stderr: str, trace_text: str, script_text: str) -> Trace:
    """The Trace of a sieve-test run that got to run the script."""
    actions, keep = parse_result(stdout)
    steps, edits = parse_trace(trace_text)
    runtime_errors = tuple(str(error) for error in parse_diagnostics(stderr, script_text))
    final = final_results(stderr)
    return Trace(
        actions=actions,
        implicit_keep=keep,
        header_edits=edits,
        steps=steps,
        errors=runtime_errors,
        success=bool(final) and final[-1].rstrip().endswith("final result: success"),
    )


def probe_script(rules: Sequence[Rule], *, email_type_header: str) -> str:
    """Each enabled rule's test followed by a marker fileinto (see module docstring)."""
    needs = {"fileinto"}
    lines = []
    for position, rule in enumerate(rules, start=1):
        if rule.enabled:
            lines += condition_lines(rule, email_type_header=email_type_header, needs=needs)
            lines += [f"{INDENT}fileinto {quote(PROBE_PREFIX + str(position))};", "}"]
    return "\n".join([SCRIPT_HEADER, require_line(needs), *lines]) + "\n"


def matched_positions(probe: Trace) -> set[int]:
    """The positions of the rules whose marker folder the probe script's run filed into."""
    return {
        int(folder.removeprefix(PROBE_PREFIX))
        for folder in probe.folders
        if folder.startswith(PROBE_PREFIX)
    }


def rule_outcomes(
    rules: Sequence[Rule], matched: set[int], alone_traces: Mapping[int, Trace]
) -> tuple[RuleOutcome, ...]:
    """Each rule's outcome, in order; `alone_traces`: each matched rule run on its own."""
    outcomes, stopped = [], False
    for position, rule in enumerate(rules, start=1):
        is_match = position in matched
        outcomes.append(
            RuleOutcome(
                position=position,
                name=rule.name,
                enabled=rule.enabled,
                matched=is_match,
                applied=is_match and not stopped,
                actions=alone_traces[position].final_actions if is_match else (),
                rule_actions=rule.actions,
            )
        )
        if is_match and any(action.kind == "stop" for action in rule.actions):
            stopped = True
    return tuple(outcomes)

"""What a dry run of a Sieve script on a message would do, read from sieve-test's output,
and which sorting rules match, for the "test these rules" feature (pure; the runs
themselves are in `mailservice.pigeonhole`).

sieve-test's report lists "Performed actions" and the "Implicit keep"; an explicit
`keep` (or `fileinto "INBOX"`) is a performed store into INBOX, the implicit keep its own
section, so each store says which it is (`keep`). Its trace (`-T level=matching`) adds
header edits, which the action list omits, and each test the engine evaluated with its
result and a `stop` that ended the script. Pigeonhole shortens traced header values to
~80 characters: such edits are flagged `truncated`. A vacation is printed with its
period, subject, from and text; its `:addresses` only appear in the binary's dump
(`-d`), which also lists the extensions the script requires.

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
from dataclasses import dataclass, field, replace

from .compiler import INDENT, SCRIPT_HEADER, CompiledScript, condition_lines, quote, require_line
from .diagnostics import parse_diagnostics
from .rules import Action, Rule

PROBE_PREFIX = "mm-probe-"
# Where `keep` and the implicit keep store a message (sieve-test and LMTP alike).
DEFAULT_MAILBOX = "INBOX"

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
    # A store into INBOX: "explicit" (the script's keep or fileinto "INBOX") or
    # "implicit" (no action cancelled the implicit keep); None for anything else.
    keep: str | None = None


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
class TracedTest:
    """A test the engine evaluated, with its own result (before any `not` around it)."""

    line: int
    test: str  # "header", "address", "envelope", "size :over", "exists", …
    matched: bool | None  # None: the trace did not say


@dataclass(frozen=True)
class VacationReport:
    """A vacation action as sieve-test prints it (the period after Pigeonhole's limits)."""

    seconds: int | None
    subject: str | None  # None: delivery makes "Auto: <subject of the message>"
    sender: str | None  # the :from given, None: the recipient address
    reason: str  # the reply's text
    addresses: tuple[str, ...] = ()  # :addresses, from the dump
    mime: bool = False


@dataclass(frozen=True)
class Trace:
    actions: tuple[SimAction, ...]
    implicit_keep: SimAction | None
    header_edits: tuple[HeaderEdit, ...] = ()
    steps: tuple[TraceStep, ...] = ()
    errors: tuple[str, ...] = ()  # runtime errors (e.g. conflicting actions)
    success: bool = True
    tests: tuple[TracedTest, ...] = ()
    stopped: int | None = None  # the line of the `stop` that ended the script
    vacation: VacationReport | None = None
    extensions: tuple[str, ...] = ()  # what the script requires, per the dump

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
    # A vacation's fields (its handle holds the text) and its text: their lines are no
    # actions, whatever they hold.
    in_vacation = in_message = False
    for line in stdout.splitlines():
        stripped = line.strip()
        if in_message:
            in_message = stripped != "END MESSAGE"
        elif stripped == "START MESSAGE" and in_vacation:
            in_vacation, in_message = False, True
        elif in_vacation:
            if stripped.startswith("=> "):
                sections[section][-1] = _with_detail(sections[section][-1], stripped)
        elif stripped == "Performed actions:":
            section = "actions"
        elif stripped == "Implicit keep:":
            section = "keep"
        elif section is None or not stripped or stripped == "(none)":
            continue
        elif line.startswith(" * "):
            sections[section].append(_describe(line[3:].strip()))
            in_vacation = line == " * send vacation message:"
        elif sections[section]:
            detail = stripped.removeprefix("+ ").strip()
            sections[section][-1] = _with_detail(sections[section][-1], detail)
    performed = tuple(
        replace(a, keep="explicit") if a.kind == "store" and a.target == DEFAULT_MAILBOX else a
        for a in sections["actions"]
    )
    keep = replace(sections["keep"][0], keep="implicit") if sections["keep"] else None
    return performed, keep


_VACATION_FIELD_RE = re.compile(r"^\s*=> (seconds|subject|from|handle)\s*: ?(.*)$")


def parse_vacation(stdout: str) -> VacationReport | None:
    """The vacation action of sieve-test's report (its fields and text), if any."""
    lines = stdout.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line == " * send vacation message:")
    except StopIteration:
        return None
    fields: dict[str, str] = {}
    current = None
    reason: list[str] = []
    position = start + 1
    while position < len(lines):
        line = lines[position]
        position += 1
        if line == "START MESSAGE":
            break
        if found := _VACATION_FIELD_RE.match(line):
            current = found.group(1)
            fields[current] = found.group(2)
        elif current and line:  # a field value on several lines (the handle holds the text)
            fields[current] += "\n" + line
    while position < len(lines) and lines[position] != "END MESSAGE":
        reason.append(lines[position])
        position += 1
    seconds = fields.get("seconds", "").strip()
    return VacationReport(
        seconds=int(seconds) if seconds.isdigit() else None,
        subject=fields.get("subject"),
        sender=fields.get("from"),
        reason="\n".join(reason),
        mime=fields.get("handle", "").endswith("<MIME>"),
    )


_DUMP_LINE_RE = re.compile(r"^[0-9a-f]{8}: {1,4}(?:(\d+): )?( *)(.*)$")
_DUMP_STR_RE = re.compile(r'^STR\[\d+\] "(.*)"$')
_DUMP_EXTENSION_RE = re.compile(r"^\s+\d+: (\S+) \(id: \d+\)$")


def parse_dump(dump: str) -> tuple[tuple[str, ...], dict[int, tuple[str, ...]]]:
    """From `sieve-test -d`: the extensions the script requires, and each vacation's
    `:addresses` by its line (literal strings only; a variable is not expanded)."""
    extensions: list[str] = []
    addresses: dict[int, tuple[str, ...]] = {}
    section = ""
    line_number = 0
    vacation_line = None
    collecting = False
    for raw in dump.splitlines():
        if raw.startswith("* "):
            section = raw
            continue
        if section.startswith("* Required extensions"):
            if found := _DUMP_EXTENSION_RE.match(raw):
                extensions.append(found.group(1))
            continue
        found = _DUMP_LINE_RE.match(raw)
        if not found:
            continue
        if found.group(1):
            line_number = int(found.group(1))
        indent, code = len(found.group(2)), found.group(3)
        if indent == 0:
            vacation_line = line_number if code == "VACATION" else None
            collecting = False
        elif vacation_line is not None:
            item = _DUMP_STR_RE.match(code)
            if collecting and item:
                addresses[vacation_line] += (item.group(1),)
            elif code.startswith("addresses: "):
                value = code.removeprefix("addresses: ")
                single = _DUMP_STR_RE.match(value)
                addresses[vacation_line] = (single.group(1),) if single else ()
                collecting = value.startswith("STRLIST")
            else:
                collecting = False
    return tuple(extensions), addresses


_TEST_RE = re.compile(r"^(\S.*) test$")
_MATCH_RESULT_RE = re.compile(r"^\s+finishing match with result: (matched|not matched)$")
_JUMP_RE = re.compile(r"^jump if result is (true|false)$")


def parse_tests(text: str) -> tuple[tuple[TracedTest, ...], int | None]:
    """The tests the engine evaluated, in order, and the line of the `stop` that ended
    the script (None: it ran to its end). A test's result is the one its match reports
    or, for tests without a match (size, exists), the jump that follows it: the engine
    jumps on the test's own result, so a `not` around it does not change what is shown."""
    tests: list[TracedTest] = []
    stopped = None
    pending = None  # index of the test whose result is not known yet
    jump = None  # the result a "jump if result is …" line jumps on
    for raw in text.splitlines():
        found = _TRACE_LINE_RE.match(raw)
        if not found:
            continue
        number, content = int(found.group(1)), found.group(2)
        top, stripped = not content.startswith(" "), content.strip()
        if top and (found_test := _TEST_RE.match(content)):
            name = found_test.group(1)
            # Pigeonhole names the currentdate test "currentdatedate" in its trace.
            tests.append(TracedTest(number, "currentdate" if name == "currentdatedate" else name,
                                    None))
            pending, jump = len(tests) - 1, None
        elif pending is not None and not top and (result := _MATCH_RESULT_RE.match(content)):
            tests[pending] = replace(tests[pending], matched=result.group(1) == "matched")
        elif pending is not None and top and (found_jump := _JUMP_RE.match(content)):
            jump = found_jump.group(1) == "true"
        elif pending is not None and jump is not None and not top and (
                stripped == "not jumping" or stripped.startswith("jumping to line")):
            if tests[pending].matched is None:
                jumped = stripped != "not jumping"
                tests[pending] = replace(tests[pending], matched=jump if jumped else not jump)
            pending, jump = None, None
        elif top:
            if content.startswith("stop command"):
                stopped = number
            pending, jump = None, None
    return tuple(tests), stopped


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


def read_trace(stdout: str, stderr: str, trace_text: str, script_text: str,
               dump_text: str = "") -> Trace:
    """The Trace of a sieve-test run that got to run the script."""
    actions, keep = parse_result(stdout)
    steps, edits = parse_trace(trace_text)
    tests, stopped = parse_tests(trace_text)
    extensions, addresses = parse_dump(dump_text)
    vacation = parse_vacation(stdout)
    if vacation is not None:
        ran = [step.line for step in steps if step.text == "vacation action"]
        line = ran[-1] if ran else next(iter(addresses), None)
        vacation = replace(vacation, addresses=addresses.get(line, ()))
    runtime_errors = tuple(str(error) for error in parse_diagnostics(stderr, script_text))
    final = final_results(stderr)
    return Trace(
        actions=actions,
        implicit_keep=keep,
        header_edits=edits,
        steps=steps,
        errors=runtime_errors,
        success=bool(final) and final[-1].rstrip().endswith("final result: success"),
        tests=tests,
        stopped=stopped,
        vacation=vacation,
        extensions=extensions,
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

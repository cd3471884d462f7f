"""Run a Sieve script on a message with Pigeonhole's `sieve-test` (dry run, nothing is
stored or sent) and report what would happen, for the "test these rules" feature.

`sieve-test` needs a mail user: as root it must drop to `mail_uid`/`mail_gid`, so the
temp dir (script, message, the `.svbin` it writes beside the script, the trace) is
given to that uid. Its stdout lists "Performed actions" and the "Implicit keep"; the
trace (`-T level=commands`) adds header edits, which the action list omits.
Pigeonhole shortens traced header values to ~80 characters: such edits are flagged
`truncated`.

Which standard rules matched (`test_rules`): trace line numbers are not reliable
enough to map actions back to rules (Pigeonhole shifts them around optimised-out
code), so matching is measured separately. One probe script holds every enabled
rule's test, each followed by `fileinto "<marker-N>"`; tests have no side effects, so
the marker folders in its result are exactly the rules whose conditions hold. Then
each matched rule is compiled alone (the same text as in the full script) and run
to show its own effect, and the full script is run for the final result. Cost: two
sieve-test runs plus one per matched rule (run in parallel), ~10-30 ms each.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .compiler import (
    INDENT,
    SCRIPT_HEADER,
    CompiledScript,
    check_header_name,
    compile_rules,
    condition_lines,
    quote,
    require_line,
)
from .rules import Action, Rule
from .validate import (
    DEFAULT_EXTENSIONS,
    SCRIPT_NAME,
    SieveError,
    SieveToolError,
    extension_argument,
    find_tool,
    parse_diagnostics,
    run_tool,
    script_bytes,
    write_private_config,
)

# Unprivileged uid/gid sieve-test switches to when run as root (no passwd entry needed).
MAIL_UID = int(os.environ.get("MAILMANAGER_SIEVE_TEST_UID", "5000"))
MAIL_GID = int(os.environ.get("MAILMANAGER_SIEVE_TEST_GID", str(MAIL_UID)))
PROBE_PREFIX = "mm-probe-"
MAX_WORKERS = 4

# sieve-test prints system flags in lower case; show them as IMAP spells them.
_SYSTEM_FLAGS = {
    flag.lower(): flag for flag in ("\\Seen", "\\Flagged", "\\Answered", "\\Deleted", "\\Draft")
}
_TRACE_LINE_RE = re.compile(r"^\s*(\d+): (.*)$")
_ADDHEADER_RE = re.compile(r'^addheader (?::last )?"(.*)"$')
_DELETE_RE = re.compile(r"^deleting header `(.*?)'")
_DELETE_MATCHING_RE = re.compile(r"^deleting matching occurrences of header `(.*)'$")


class SieveScriptInvalid(ValueError):
    """The script does not compile; `errors` says where."""

    def __init__(self, errors: Sequence[SieveError]):
        self.errors = tuple(errors)
        super().__init__("; ".join(str(error) for error in self.errors) or "invalid script")


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


def _run_ids() -> tuple[int, int] | None:
    if os.geteuid() == 0:
        return MAIL_UID, MAIL_GID
    return None


def simulate(
    script_text: str | bytes,
    message_bytes: bytes,
    *,
    extensions: Iterable[str] = DEFAULT_EXTENSIONS,
    envelope_from: str | None = None,
    recipient: str | None = None,
) -> Trace:
    """Dry-run `script_text` on a message. Raises SieveScriptInvalid if it does not
    compile, SieveToolMissing / SieveToolError for tool problems."""
    options = extension_argument(extensions)
    sieve_test = find_tool("sieve-test")
    data, decoded, encoding_error = script_bytes(script_text)
    if encoding_error:
        raise SieveScriptInvalid([encoding_error])
    ids = _run_ids()
    with tempfile.TemporaryDirectory(prefix="mm-sieve-test-") as tmp:
        home = os.path.join(tmp, "home")
        os.mkdir(home)
        settings = [f"mail_home = {home}", f"mail_location = maildir:{home}/Maildir"]
        uid, gid = ids if ids else (os.getuid(), os.getgid())
        settings += [f"mail_uid = {uid}", f"mail_gid = {gid}"]
        config = write_private_config(tmp, settings)
        script = os.path.join(tmp, f"{SCRIPT_NAME}.sieve")
        message = os.path.join(tmp, "message.eml")
        trace_path = os.path.join(tmp, "trace.txt")
        with open(script, "wb") as handle:
            handle.write(data)
        with open(message, "wb") as handle:
            handle.write(message_bytes)
        if ids:
            for path in (tmp, home, script, message):
                os.chown(path, *ids)
        command = [sieve_test, "-c", config, *options]
        command += ["-t", trace_path, "-T", "level=commands"]
        if envelope_from:
            command += ["-f", envelope_from]
        if recipient:
            command += ["-r", recipient]
        command += [script, message]
        done = run_tool(command, "sieve-test")
        trace_text = ""
        if os.path.exists(trace_path):
            with open(trace_path, encoding="utf-8", errors="replace") as handle:
                trace_text = handle.read()
    final = [line for line in done.stderr.splitlines() if "final result:" in line]
    if done.returncode != 0 and not final:
        errors = parse_diagnostics(done.stderr, decoded)
        if errors:
            raise SieveScriptInvalid(errors)
        raise SieveToolError(f"sieve-test exited with {done.returncode}: {done.stderr.strip()}")
    actions, keep = parse_result(done.stdout)
    steps, edits = parse_trace(trace_text)
    runtime_errors = tuple(str(error) for error in parse_diagnostics(done.stderr, decoded))
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


def test_rules(
    rules: Sequence[Rule],
    message_bytes: bytes,
    *,
    email_type_header: str = "X-Mail-Type",
    extensions: Iterable[str] = DEFAULT_EXTENSIONS,
    script_text: str | None = None,
) -> RuleTestResult:
    """Which rules match `message_bytes`, what each does, and what the whole set does.
    `script_text`: the script that really runs, when it holds more than the rules (the
    address's auto-reply); the final result comes from it."""
    rules = tuple(rules)
    extensions = tuple(extensions)
    check_header_name(email_type_header)
    script = compile_rules(rules, email_type_header=email_type_header)
    if script_text is not None:
        script = CompiledScript(text=script_text, extensions=script.extensions)
    options = {"extensions": extensions}
    matched: set[int] = set()
    if any(rule.enabled for rule in rules):
        probe_text = probe_script(rules, email_type_header=email_type_header)
        probe = simulate(probe_text, message_bytes, **options)
        matched = {
            int(folder.removeprefix(PROBE_PREFIX))
            for folder in probe.folders
            if folder.startswith(PROBE_PREFIX)
        }

    def alone(position: int) -> Trace:
        single = compile_rules([rules[position - 1]], email_type_header=email_type_header)
        return simulate(single.text, message_bytes, **options)

    with ThreadPoolExecutor(max_workers=MAX_WORKERS) as pool:
        full_future = pool.submit(simulate, script.text, message_bytes, **options)
        alone_futures = {position: pool.submit(alone, position) for position in sorted(matched)}
        trace = full_future.result()
        alone_traces = {position: future.result() for position, future in alone_futures.items()}

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
    return RuleTestResult(outcomes=tuple(outcomes), trace=trace, script=script)


# pytest would otherwise collect the public `test_rules` function when imported in tests.
test_rules.__test__ = False  # type: ignore[attr-defined]

"""Runs Dovecot Pigeonhole's tools on Sieve scripts: `sievec` validates a script (with line
numbers), `sieve-test` dry-runs one on a message (nothing is stored or sent) for the
"test these rules" feature. Reading their output is pure and lives in `sieve/`.

Every run gets a private, nearly empty dovecot.conf in a temp dir (no daemon) and the
same time limit. `sievec -c CONF SCRIPT OUT` exits 0 when the script compiles and 89
otherwise, printing `script: line N: error: …` on stderr; it works as root without
mail_uid and writes its binary to a file in that dir: never to /dev/null, which sievec
would replace.

`sieve-test` needs a mail user: as root it must drop to `mail_uid`/`mail_gid`, so the
temp dir (script, message, the `.svbin` it writes beside the script, the trace) is
given to that uid. It runs with `-T level=matching` (header edits, each test's result,
`stop`) and `-d` (the binary's dump: required extensions, a vacation's `:addresses`); see
`sieve/trace.py` for what is read from its output and how rules are matched.

sieve-test always runs with the environment of a check after delivery: Pigeonhole's tool
layer (sieve-tool.c) hard-codes `location` "MS" and `phase` "post", with no option to
change them, where LMTP delivery runs at the "MDA" "during" delivery (`TESTER_ENVIRONMENT`
and `DELIVERY_ENVIRONMENT`; the tester states the difference).

Testing rules (`test_rules`) costs two sieve-test runs (the probe script and the full
script) plus one per matched rule, run in parallel, ~10-30 ms each.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

from .sieve.compiler import CompiledScript, check_header_name, compile_rules
from .sieve.diagnostics import (
    SCRIPT_NAME,
    SieveError,
    SieveScriptInvalid,
    extension_argument,
    parse_diagnostics,
    script_bytes,
)
from .sieve.rules import Rule
from .sieve.trace import (
    RuleTestResult,
    Trace,
    final_results,
    matched_positions,
    probe_script,
    read_trace,
    rule_outcomes,
)

# What the mail stack enables beyond Pigeonhole's defaults (scripts/localstack.py writes the
# same `sieve_extensions`): header edits, and vacation periods in seconds.
DEFAULT_EXTENSIONS = ("+editheader", "+vacation-seconds")
# The `environment` extension's items that differ between sieve-test and LMTP delivery.
TESTER_ENVIRONMENT = {"phase": "post", "location": "MS"}
DELIVERY_ENVIRONMENT = {"phase": "during", "location": "MDA"}
TIMEOUT_SECONDS = 20
# Unprivileged uid/gid sieve-test switches to when run as root (no passwd entry needed).
MAIL_UID = int(os.environ.get("MAILMANAGER_SIEVE_TEST_UID", "5000"))
MAIL_GID = int(os.environ.get("MAILMANAGER_SIEVE_TEST_GID", str(MAIL_UID)))
MAX_WORKERS = 4


class SieveToolMissing(RuntimeError):
    """A Pigeonhole binary (sievec, sieve-test) is not installed."""


class SieveEngineCrash(RuntimeError):
    """The engine itself died running the script (an assertion, a signal): at delivery the
    message would be deferred, again and again."""


class SieveToolError(RuntimeError):
    """A Pigeonhole binary failed for a reason other than the script (config, timeout…)."""


def find_tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/bin:/usr/local/bin")
    if not path:
        raise SieveToolMissing(
            f"{name} (Dovecot Pigeonhole) is not installed; install dovecot-sieve."
        )
    return path


def sievec_available() -> bool:
    try:
        find_tool("sievec")
    except SieveToolMissing:
        return False
    return True


def write_private_config(directory: str, lines: Iterable[str] = ()) -> str:
    """A dovecot.conf that replaces the system one for a single tool run."""
    path = os.path.join(directory, "dovecot.conf")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("# Private config for one Pigeonhole tool run (no daemon).\n")
        handle.write(f"base_dir = {directory}/run\n")
        for line in lines:
            handle.write(line + "\n")
    return path


def run_tool(command: list[str], name: str) -> subprocess.CompletedProcess:
    """Run a Pigeonhole tool with the shared time limit; a hang is a SieveToolError."""
    try:
        return subprocess.run(command, capture_output=True, text=True, errors="replace",
                              timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired as exc:
        raise SieveToolError(f"{name} timed out after {TIMEOUT_SECONDS} s") from exc


def check_script(
    text: str | bytes, *, extensions: Iterable[str] = DEFAULT_EXTENSIONS
) -> list[SieveError]:
    """Compile `text` with Dovecot's sievec; [] when valid, else its errors in order.

    `extensions` is the server's `sieve_extensions` delta (e.g. "+editheader").
    Raises SieveToolMissing without sievec and SieveToolError when sievec fails
    without reporting a script error.
    """
    options = extension_argument(extensions)
    sievec = find_tool("sievec")
    data, decoded, encoding_error = script_bytes(text)
    if encoding_error:
        return [encoding_error]
    with tempfile.TemporaryDirectory(prefix="mm-sievec-") as tmp:
        config = write_private_config(tmp)
        script = os.path.join(tmp, f"{SCRIPT_NAME}.sieve")
        with open(script, "wb") as handle:
            handle.write(data)
        command = [sievec, "-c", config, *options, script]
        command.append(os.path.join(tmp, f"{SCRIPT_NAME}.svbin"))
        done = run_tool(command, "sievec")
    if done.returncode == 0:
        return []
    errors = parse_diagnostics(done.stderr, decoded)
    if not errors:
        raise SieveToolError(
            f"sievec exited with {done.returncode}: {done.stderr.strip() or done.stdout.strip()}"
        )
    return errors


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
        dump_path = os.path.join(tmp, "dump.txt")
        with open(script, "wb") as handle:
            handle.write(data)
        with open(message, "wb") as handle:
            handle.write(message_bytes)
        if ids:
            for path in (tmp, home, script, message):
                os.chown(path, *ids)
        command = [sieve_test, "-c", config, *options]
        command += ["-t", trace_path, "-T", "level=matching", "-d", dump_path]
        if envelope_from:
            command += ["-f", envelope_from]
        if recipient:
            command += ["-r", recipient]
        command += [script, message]
        done = run_tool(command, "sieve-test")
        trace_text, dump_text = _read_text(trace_path), _read_text(dump_path)
    if done.returncode < 0 or "Panic:" in done.stderr:
        raise SieveEngineCrash(_crash_reason(done.stderr) or f"signal {-done.returncode}")
    if done.returncode != 0 and not final_results(done.stderr):
        errors = parse_diagnostics(done.stderr, decoded)
        if errors:
            raise SieveScriptInvalid(errors)
        raise SieveToolError(f"sieve-test exited with {done.returncode}: {done.stderr.strip()}")
    return read_trace(done.stdout, done.stderr, trace_text, decoded, dump_text)


def _read_text(path: str) -> str:
    if not os.path.exists(path):
        return ""
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read()


def _crash_reason(stderr: str) -> str:
    for line in stderr.splitlines():
        if "Panic: " in line:
            return line.split("Panic: ", 1)[1].strip()[:300]
    return ""


def prove_script(script_text: str, messages: Sequence[bytes], *,
                 extensions: Iterable[str] = DEFAULT_EXTENSIONS) -> list[SieveError]:
    """Run the script with the real engine on `messages` (see sieve.probe_messages): the
    errors that would stop delivery — the engine aborting or running out of time — as
    script errors; [] when it ran every message to the end. sievec accepting a script
    does not prove this: some patterns only fail when a header is compared."""
    for message in messages:
        try:
            simulate(script_text, message, extensions=extensions)
        except SieveEngineCrash as exc:
            return [SieveError(None, None, f"Dovecot's Sieve engine stops on this script when "
                                           f"it runs ({exc}); no message could be delivered")]
        except SieveToolError as exc:
            if "timed out" not in str(exc):
                raise
            return [SieveError(None, None, "the script takes too long to run on a message")]
    return []


def test_rules(
    rules: Sequence[Rule],
    message_bytes: bytes,
    *,
    email_type_header: str = "X-Mail-Type",
    extensions: Iterable[str] = DEFAULT_EXTENSIONS,
    script_text: str | None = None,
    recipient: str | None = None,
    envelope_from: str | None = None,
) -> RuleTestResult:
    """Which rules match `message_bytes`, what each does, and what the whole set does.
    `script_text`: the script that really runs, when it holds more than the rules (the
    address's auto-reply); the final result comes from it. `recipient`/`envelope_from`:
    the envelope delivery gives the script (sieve-test takes it from the headers else)."""
    rules = tuple(rules)
    extensions = tuple(extensions)
    check_header_name(email_type_header)
    script = compile_rules(rules, email_type_header=email_type_header)
    if script_text is not None:
        script = CompiledScript(text=script_text, extensions=script.extensions)
    options = {"extensions": extensions, "recipient": recipient, "envelope_from": envelope_from}
    matched: set[int] = set()
    if any(rule.enabled for rule in rules):
        probe_text = probe_script(rules, email_type_header=email_type_header)
        matched = matched_positions(simulate(probe_text, message_bytes, **options))

    def alone(position: int) -> Trace:
        single = compile_rules([rules[position - 1]], email_type_header=email_type_header)
        return simulate(single.text, message_bytes, **options)

    with ThreadPoolExecutor(max_workers=MAX_WORKERS) as pool:
        full_future = pool.submit(simulate, script.text, message_bytes, **options)
        alone_futures = {position: pool.submit(alone, position) for position in sorted(matched)}
        trace = full_future.result()
        alone_traces = {position: future.result() for position, future in alone_futures.items()}
    outcomes = rule_outcomes(rules, matched, alone_traces)
    return RuleTestResult(outcomes=outcomes, trace=trace, script=script)


# pytest would otherwise collect the public `test_rules` function when imported in tests.
test_rules.__test__ = False  # type: ignore[attr-defined]

"""Sieve script validation by Dovecot itself (Pigeonhole `sievec`), with line numbers.

`sievec -c CONF SCRIPT OUT` exits 0 when the script compiles and 89 otherwise,
printing `script: line N: error: …` on stderr. It runs with a private, nearly empty
config in a temp dir (no daemon, works as root without mail_uid) and writes its
binary to a file in that dir: never to /dev/null, which sievec would replace.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass

DEFAULT_EXTENSIONS = ("+editheader",)
TIMEOUT_SECONDS = 20
SCRIPT_NAME = "script"  # sievec prefixes each message with the script's base name

# Pigeonhole 2.3 prints no column; the optional group is for newer releases.
_LINE_RE = re.compile(rf"^{SCRIPT_NAME}: line (\d+)(?:, column (\d+))?: (error|warning): (.*)$")
_SCRIPT_RE = re.compile(rf"^{SCRIPT_NAME}: (error|warning): (.*)$")
_SUMMARIES = {
    "parse failed.",
    "validation failed.",
    "code generation failed.",
}
_QUOTED_TOKEN_RE = re.compile(r"(?:'|`)([^'`\s]+)'")
_EXTENSION_ARG_RE = re.compile(r"^[+-]?[a-z0-9][a-z0-9._-]*$", re.IGNORECASE)


class SieveToolMissing(RuntimeError):
    """A Pigeonhole binary (sievec, sieve-test) is not installed."""


class SieveToolError(RuntimeError):
    """A Pigeonhole binary failed for a reason other than the script (config, timeout…)."""


@dataclass(frozen=True)
class SieveError:
    """One problem in a script; `line` is None for whole-script errors. Pigeonhole 2.3
    reports no column: `column` is a best guess from the token the message quotes."""

    line: int | None
    column: int | None
    message: str

    def __str__(self) -> str:
        where = "" if self.line is None else f"line {self.line}"
        if self.line is not None and self.column is not None:
            where += f", column {self.column}"
        return f"{where}: {self.message}" if where else self.message


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


def extension_argument(extensions: Iterable[str]) -> list[str]:
    """The `-x "+a -b"` arguments for sievec / sieve-test."""
    names = list(extensions)
    for name in names:
        if not _EXTENSION_ARG_RE.match(name):
            raise ValueError(f"invalid Sieve extension setting {name!r}")
    return ["-x", " ".join(names)] if names else []


def _guess_column(script_lines: list[str], line: int, message: str) -> int | None:
    if not 1 <= line <= len(script_lines):
        return None
    text = script_lines[line - 1]
    tokens = _QUOTED_TOKEN_RE.findall(message)
    if "found " in message:  # "expected X … but found Y": Y is what is at fault
        tokens = _QUOTED_TOKEN_RE.findall(message.rsplit("found ", 1)[1]) + tokens
    for token in tokens:
        index = text.find(token)
        if index >= 0:
            return index + 1
    return None


def parse_diagnostics(
    output: str, script_text: str = "", *, severity: str = "error"
) -> list[SieveError]:
    """The errors (or warnings) that sievec / sieve-test printed for `SCRIPT_NAME`."""
    script_lines = script_text.splitlines()
    found = []
    for raw in output.splitlines():
        raw = raw.strip()
        if match := _LINE_RE.match(raw):
            line, column, level, message = match.groups()
            if level != severity:
                continue
            line_no = int(line)
            col = int(column) if column else _guess_column(script_lines, line_no, message)
            found.append(SieveError(line_no, col, message))
        elif match := _SCRIPT_RE.match(raw):
            level, message = match.groups()
            if level == severity and message not in _SUMMARIES:
                found.append(SieveError(None, None, message))
    return found


def _utf8_error(data: bytes) -> SieveError | None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = len(data[: exc.start].rsplit(b"\n", 1)[-1].decode("utf-8", "replace")) + 1
        return SieveError(line, column, "the script is not valid UTF-8 text")
    return None


def script_bytes(text: str | bytes) -> tuple[bytes, str, SieveError | None]:
    """(bytes, text, encoding error) for a script given as text or as an uploaded file."""
    if isinstance(text, bytes):
        error = _utf8_error(text)
        return text, text.decode("utf-8", "replace"), error
    try:
        return text.encode("utf-8"), text, None
    except UnicodeEncodeError:
        data = text.encode("utf-8", "surrogatepass")
        return data, text, _utf8_error(data)


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

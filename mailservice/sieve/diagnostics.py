"""Problems in a Sieve script as Pigeonhole reports them, read into line/column errors (pure).

Pigeonhole's tools print `script: line N: error: …` (and warnings) on stderr; the
tool runs themselves are in `mailservice.pigeonhole`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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


class SieveScriptInvalid(ValueError):
    """The script does not compile; `errors` says where."""

    def __init__(self, errors: Sequence[SieveError]):
        self.errors = tuple(errors)
        super().__init__("; ".join(str(error) for error in self.errors) or "invalid script")


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

"""RFC 5228's generic grammar read into commands and tests with their line numbers (pure).

A small reader rather than sievelib's: sievelib keeps no line numbers, refuses a script that
uses an extension it was not told about or an argument missing from its tables (each
Dovecot extension would need registering), and its command registry is process-wide state.
Any command parses here; what the commands mean is left to the readers of the tree (the
linter, the probe messages, the forwarding graph).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

# Pigeonhole nests blocks 32 deep at most; deeper is refused anyway, and the limit keeps the
# recursive parser far from Python's own.
_MAX_NESTING = 64

# Tagged arguments followed by a value of their own (not a positional argument).
_TAGS_WITH_VALUE = {
    ":comparator", ":days", ":seconds", ":subject", ":from", ":addresses", ":handle", ":flags",
    ":zone", ":index", ":specialuse", ":content", ":param", ":importance", ":message",
    ":options", ":count", ":value", ":fcc", ":header", ":uniqueid", ":first", ":method",
}


class ScriptSyntaxError(ValueError):
    """The script is not RFC 5228 syntax (sievec says where)."""


# --- reading the script -----------------------------------------------------------------

@dataclass(frozen=True)
class Argument:
    kind: str  # "tag" (lower case), "number" or "strings"
    value: str | int | tuple[str, ...]
    line: int


@dataclass(frozen=True)
class Test:
    name: str  # lower case: Sieve identifiers are case-insensitive
    arguments: tuple[Argument, ...]
    tests: tuple[Test, ...]
    line: int


@dataclass(frozen=True)
class Command:
    name: str
    arguments: tuple[Argument, ...]
    tests: tuple[Test, ...]
    block: tuple[Command, ...] | None
    line: int


_TOKEN_RE = re.compile(
    r"""(?P<space>[ \t\r\n]+)
    |(?P<comment>\#[^\n]*|/\*.*?\*/)
    |(?P<multiline>text:[ \t]*(?:\#[^\n]*)?\r?\n)
    |(?P<quoted>"(?:[^"\\]|\\.)*")
    |(?P<tag>:[A-Za-z_][A-Za-z0-9_]*)
    |(?P<number>[0-9]+[KMGkmg]?)
    |(?P<identifier>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<special>[\[\](){};,])""",
    re.VERBOSE | re.DOTALL,
)
_ESCAPE_RE = re.compile(r"\\(.)", re.DOTALL)
_NUMBER_FACTORS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


@dataclass(frozen=True)
class _Token:
    kind: str
    value: str | int
    line: int


def _multiline(text: str, pos: int) -> tuple[str, int]:
    """A `text:` string from `pos` (just after its first line): lines up to a lone ".",
    dot-stuffing undone."""
    lines = []
    while True:
        end = text.find("\n", pos)
        line = text[pos:] if end == -1 else text[pos:end]
        line = line[:-1] if line.endswith("\r") else line
        if line == ".":
            return "".join(f"{item}\n" for item in lines), len(text) if end == -1 else end + 1
        if end == -1:
            raise ScriptSyntaxError("unterminated text: string")
        lines.append(line[1:] if line.startswith("..") else line)
        pos = end + 1


def tokens(text: str) -> Iterator[_Token]:
    pos, line = 0, 1
    while pos < len(text):
        found = _TOKEN_RE.match(text, pos)
        if found is None:
            raise ScriptSyntaxError(f"line {line}: unexpected character")
        kind, value = found.lastgroup, found.group()
        start_line = line
        if kind == "multiline":
            value, end = _multiline(text, found.end())
            line += text.count("\n", pos, end)
            pos = end
            yield _Token("string", value, start_line)
            continue
        line += value.count("\n")
        pos = found.end()
        if kind in ("space", "comment"):
            continue
        if kind == "quoted":
            # RFC 5228 2.4.2: a backslash keeps the next character, whatever it is.
            yield _Token("string", _ESCAPE_RE.sub(r"\1", value[1:-1]), start_line)
        elif kind == "number":
            digits, unit = value.rstrip("KMGkmg"), value[len(value.rstrip("KMGkmg")):]
            yield _Token("number", int(digits) * _NUMBER_FACTORS[unit.lower()], start_line)
        elif kind in ("tag", "identifier"):
            yield _Token(kind, value.lower(), start_line)
        else:
            yield _Token("special", value, start_line)


class _Parser:
    def __init__(self, text: str):
        self.tokens = list(tokens(text))
        self.pos = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise ScriptSyntaxError("unexpected end of script")
        self.pos += 1
        return token

    def expect(self, special: str) -> _Token:
        token = self.take()
        if token.kind != "special" or token.value != special:
            raise ScriptSyntaxError(f"line {token.line}: “{special}” expected")
        return token

    def at(self, special: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "special" and token.value == special

    def commands(self, depth: int) -> tuple[Command, ...]:
        if depth > _MAX_NESTING:
            raise ScriptSyntaxError("blocks nested too deep")
        found = []
        while self.peek() is not None and not self.at("}"):
            found.append(self.command(depth))
        if depth == 0 and self.peek() is not None:
            raise ScriptSyntaxError(f"line {self.peek().line}: “}}” without a block")
        return tuple(found)

    def command(self, depth: int) -> Command:
        name = self.take()
        if name.kind != "identifier":
            raise ScriptSyntaxError(f"line {name.line}: a command expected")
        arguments, tests = self.arguments(depth)
        if self.at(";"):
            self.take()
            return Command(name.value, arguments, tests, None, name.line)
        self.expect("{")
        block = self.commands(depth + 1)
        self.expect("}")
        return Command(name.value, arguments, tests, block, name.line)

    def arguments(self, depth: int) -> tuple[tuple[Argument, ...], tuple[Test, ...]]:
        if depth > _MAX_NESTING:
            raise ScriptSyntaxError("tests nested too deep")
        found = []
        while (token := self.peek()) is not None:
            if token.kind in ("tag", "number"):
                self.take()
                found.append(Argument(token.kind, token.value, token.line))
            elif token.kind == "string":
                self.take()
                found.append(Argument("strings", (token.value,), token.line))
            elif self.at("["):
                found.append(self.string_list())
            else:
                break
        tests: tuple[Test, ...] = ()
        token = self.peek()
        if token is not None and token.kind == "identifier":
            tests = (self.test(depth + 1),)
        elif self.at("("):
            self.take()
            listed = [self.test(depth + 1)]
            while self.at(","):
                self.take()
                listed.append(self.test(depth + 1))
            self.expect(")")
            tests = tuple(listed)
        return tuple(found), tests

    def string_list(self) -> Argument:
        opening = self.expect("[")
        strings = []
        while True:
            token = self.take()
            if token.kind != "string":
                raise ScriptSyntaxError(f"line {token.line}: a string expected")
            strings.append(token.value)
            if not self.at(","):
                break
            self.take()
        self.expect("]")
        return Argument("strings", tuple(strings), opening.line)

    def test(self, depth: int) -> Test:
        name = self.take()
        if name.kind != "identifier":
            raise ScriptSyntaxError(f"line {name.line}: a test expected")
        arguments, tests = self.arguments(depth)
        return Test(name.value, arguments, tests, name.line)


def parse_script(text: str) -> tuple[Command, ...]:
    """The script's commands; raises ScriptSyntaxError when it is not Sieve syntax."""
    return _Parser(text).commands(0)


# --- facts about the syntax of commands and tests ----------------------------------------

def tags(node: Command | Test) -> set[str]:
    return {a.value for a in node.arguments if a.kind == "tag"}


def positional(node: Command | Test) -> list[Argument]:
    """The arguments that are neither tags nor a tag's own value (the folder of
    `fileinto :flags "\\\\Seen" "Archive"`)."""
    found, skip = [], False
    for argument in node.arguments:
        if skip:
            skip = False
        elif argument.kind == "tag":
            skip = argument.value in _TAGS_WITH_VALUE
        else:
            found.append(argument)
    return found


def walk(commands: Sequence[Command]) -> Iterator[Command]:
    for command in commands:
        yield command
        yield from walk(command.block or ())

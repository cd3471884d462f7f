"""Read a compiled script back with sievelib's parser (an implementation independent of
ours and of Dovecot) as plain data: command names and string values."""

from collections import Counter
from dataclasses import dataclass, field

from sievelib.commands import Command
from sievelib.parser import Parser


def unquote(token: str) -> str:
    assert token.startswith('"') and token.endswith('"'), token
    out, chars = [], iter(token[1:-1])
    for char in chars:
        out.append(next(chars) if char == "\\" else char)
    return "".join(out)


@dataclass
class Parsed:
    commands: Counter = field(default_factory=Counter)
    strings: Counter = field(default_factory=Counter)  # outside `require`
    required: list = field(default_factory=list)


def _values(value):
    if isinstance(value, list | tuple):
        for item in value:
            yield from _values(item)
    else:
        yield value


def parse(text: str) -> Parsed:
    parser = Parser()
    assert parser.parse(text), f"sievelib cannot parse:\n{text}"
    parsed = Parsed()

    def walk(command: Command) -> None:
        parsed.commands[command.name] += 1
        for value in command.arguments.values():
            for item in _values(value):
                if isinstance(item, Command):
                    walk(item)
                elif isinstance(item, str) and item.startswith('"'):
                    if command.name == "require":
                        parsed.required.append(unquote(item))
                    else:
                        parsed.strings[unquote(item)] += 1
        for child in command.children:
            walk(child)

    for command in parser.result:
        walk(command)
    return parsed

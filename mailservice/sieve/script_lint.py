"""Warnings about an advanced-mode Sieve script that Dovecot accepts but that probably does
not do what its author meant (pure): commands that never run, match variables read where
no match has set them, folder names the mail server refuses, redirects back to the address,
extensions required but unused or used but not required.

The script is read by `script_parser` (RFC 5228's generic grammar, with line numbers); what
the commands mean is only looked at where a warning needs it. A script that does not parse
gets no warnings: sievec reports syntax errors itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from .forwarding import TargetsOf, fold, loop_path, targets_from_mapping
from .lint import FORWARD_LOOP, LintWarning, Word, gettext_noop
from .rules import folder_errors
from .script_parser import (
    Argument,
    Command,
    ScriptSyntaxError,
    Test,
    parse_script,
    positional,
    tags,
    walk,
)

AFTER_STOP = gettext_noop(
    "This command and the ones after it in the same block never run: “%(command)s” on line "
    "%(line)d ends the script first."
)
AFTER_BREAK = gettext_noop(
    "This command and the ones after it in the same block never run: “break” on line "
    "%(line)d leaves the loop first."
)
AFTER_ALWAYS_STOPS = gettext_noop(
    "This command and the ones after it in the same block never run: every way through the "
    "“%(command)s” on line %(line)d ends with “stop”."
)
BRANCH_NEVER_RUNS = gettext_noop(
    "The test of this “%(command)s” can never be true: its block never runs."
)
BRANCH_AFTER_ALWAYS = gettext_noop(
    "This “%(command)s” never runs: the test on line %(line)d is always true, so its block "
    "runs instead."
)
UNSET_MATCH_VARIABLE = gettext_noop(
    "“%(variable)s” is always empty here: no “:matches” or “:regex” test can have succeeded "
    "on the way to this line, and only a successful one fills the match variables."
)
INVALID_FOLDER = gettext_noop(
    "“fileinto” names the folder “%(folder)s”, which the mail server refuses: %(reason)s"
)
REDIRECT_TO_SELF = gettext_noop(
    "This “redirect” sends the message to %(target)s, this address itself: it comes back "
    "and the script runs on it again (a duplicate at best, a mail loop at worst). Use "
    "“fileinto” or “keep” instead."
)
EXTENSION_NOT_REQUIRED = gettext_noop(
    "“%(feature)s” needs the “%(extension)s” extension, which the script does not "
    "require: the mail server refuses the script until “%(extension)s” is added to its "
    "“require” line."
)
VARIABLES_NOT_REQUIRED = gettext_noop(
    "“%(text)s” is kept as written, not replaced: variables only work when the script "
    "requires “variables”."
)
EXTENSION_UNUSED = gettext_noop(
    "The script requires “%(extension)s” but never uses it: it can be removed from the "
    "“require” line."
)

# folder_errors' reasons, marked here so the catalogue keeps their translations (the folder
# service shows them untranslated, as it always has).
FOLDER_REASONS = (
    gettext_noop("Enter a folder name."),
    gettext_noop("A folder name cannot contain control characters (tabs, line breaks…)."),
    gettext_noop("A folder name is at most 1000 characters long."),
    gettext_noop('Sub-folders are separated by a single "/" and none can be empty.'),
    gettext_noop('"." and ".." are not valid folder names.'),
    gettext_noop("Each sub-folder name is at most 255 bytes long."),
    gettext_noop('A folder name cannot start with "~".'),
)

# Commands that end the script, or for `break` the enclosing loop: nothing after them in the
# same block runs.
_ENDERS = ("stop", "return", "error", "break")

_COMMAND_EXTENSIONS = {
    "fileinto": "fileinto", "reject": "reject", "ereject": "ereject", "vacation": "vacation",
    "setflag": "imap4flags", "addflag": "imap4flags", "removeflag": "imap4flags",
    "set": "variables", "addheader": "editheader", "deleteheader": "editheader",
    "include": "include", "return": "include", "global": "include", "notify": "enotify",
    "foreverypart": "foreverypart", "break": "foreverypart", "extracttext": "extracttext",
    "replace": "replace", "enclose": "enclose", "error": "ihave",
}
_TEST_EXTENSIONS = {
    "envelope": "envelope", "body": "body", "date": "date", "currentdate": "date",
    "environment": "environment", "hasflag": "imap4flags", "string": "variables",
    "mailboxexists": "mailbox", "duplicate": "duplicate", "ihave": "ihave",
    "metadata": "mboxmetadata", "metadataexists": "mboxmetadata",
    "servermetadata": "servermetadata", "servermetadataexists": "servermetadata",
    "spamtest": "spamtest", "virustest": "virustest", "valid_notify_method": "enotify",
    "notify_method_capability": "enotify", "specialuse_exists": "special-use",
}
_TAG_EXTENSIONS = {
    ":copy": "copy", ":create": "mailbox", ":flags": "imap4flags", ":regex": "regex",
    ":count": "relational", ":value": "relational", ":seconds": "vacation-seconds",
    ":mime": "mime", ":anychild": "mime", ":index": "index", ":last": "index",
    ":specialuse": "special-use", ":user": "subaddress", ":detail": "subaddress",
    ":quoteregex": "regex",
}
# Tags that are a command's own, although another extension uses the same word.
_OWN_TAGS = {
    "vacation": {":mime"},
    "duplicate": {":seconds", ":last"},
    "addheader": {":last"},
    "deleteheader": {":index", ":last"},
}
# Requiring the key brings the values along (Pigeonhole's extension dependencies).
_IMPLIED = {"vacation-seconds": {"vacation"}, "spamtestplus": {"spamtest"}}
_KNOWN_COMPARATORS = {"i;octet", "i;ascii-casemap"}
_MATCH_TAGS = {":matches", ":regex"}
_VARIABLE_RE = re.compile(r"\$\{([A-Za-z0-9_.]+)\}")
_MATCH_VARIABLE_RE = re.compile(r"\$\{([0-9]+)\}")
_ENCODED_RE = re.compile(r"\$\{(?:hex|unicode):", re.IGNORECASE)


def _last_string(node: Command | Test) -> Argument | None:
    values = [a for a in positional(node) if a.kind == "strings"]
    return values[-1] if values and len(values[-1].value) == 1 else None


def _subtree(test: Test) -> Iterator[Test]:
    yield test
    for inner in test.tests:
        yield from _subtree(inner)


def _sets_match_variables(test: Test) -> bool:
    return bool(tags(test) & _MATCH_TAGS)


def _may_match(test: Test) -> bool:
    """Whether evaluating `test` may fill the match variables."""
    return any(_sets_match_variables(t) for t in _subtree(test))


def _constant(test: Test) -> bool | None:
    """The test's value when it is the same for every message, else None."""
    values = [_constant(t) for t in test.tests]
    if test.name == "true" and not test.tests:
        return True
    if test.name == "false" and not test.tests:
        return False
    if test.name == "not" and len(values) == 1:
        return None if values[0] is None else not values[0]
    if test.name == "allof" and values:
        return False if False in values else True if all(v is True for v in values) else None
    if test.name == "anyof" and values:
        return True if True in values else False if all(v is False for v in values) else None
    return None


def _outcomes(test: Test, filled: bool) -> tuple[bool, bool]:
    """Whether the match variables may be filled after `test` is true, and after it is
    false, given `filled` before. Only a successful :matches/:regex test fills them. For
    allof's false and anyof's true outcome any member may have run (an engine may or may
    not stop at the first decisive one): that errs towards "may be filled", which only
    costs a warning."""
    if test.name == "not" and len(test.tests) == 1:
        true, false = _outcomes(test.tests[0], filled)
        return false, true
    if test.name in ("allof", "anyof") and test.tests:
        chained = filled
        for inner in test.tests:
            chained = _outcomes(inner, chained)[0 if test.name == "allof" else 1]
        either = filled or any(_may_match(inner) for inner in test.tests)
        return (chained, either) if test.name == "allof" else (either, chained)
    if _sets_match_variables(test):
        return True, filled
    return filled, filled


# --- the review -------------------------------------------------------------------------

@dataclass
class _Review:
    home: str
    forwards_of: TargetsOf
    variables: bool
    warnings: list[LintWarning] = field(default_factory=list)
    reported: set = field(default_factory=set)

    def warn(self, line: int, code: str, template: str, params: dict, *, once=None) -> None:
        if once is not None:
            if once in self.reported:
                return
            self.reported.add(once)
        self.warnings.append(LintWarning(0, "", code, template % params, template, params,
                                         line=line))

    # The flow: which commands run, and whether a match can have filled ${1}… on the way.

    def block(self, commands: Sequence[Command], filled: bool) -> tuple[bool, bool]:
        """Reviews `commands` run in order; (whether the end of the block is reached, and
        whether the match variables may then be filled)."""
        index = 0
        while index < len(commands):
            command = commands[index]
            if command.name == "if":
                chain = [command]
                while (index + len(chain) < len(commands)
                       and commands[index + len(chain)].name in ("elsif", "else")):
                    chain.append(commands[index + len(chain)])
                    if chain[-1].name == "else":
                        break
                index += len(chain)
                reached, filled = self.conditional(chain, filled)
                ender = (AFTER_ALWAYS_STOPS, "if", command.line)
            elif command.name in ("elsif", "else"):
                raise ScriptSyntaxError(f"line {command.line}: “{command.name}” without “if”")
            else:
                index += 1
                self.strings(command.arguments, filled)
                for test in command.tests:
                    self.test_strings(test, filled)
                if command.block is not None:
                    # A loop (foreverypart): its block runs any number of times.
                    inside = filled or any(_may_match(t) for c in walk(command.block)
                                           for t in c.tests)
                    self.block(command.block, inside)
                    filled = inside
                reached = command.name not in _ENDERS
                ender = (AFTER_BREAK if command.name == "break" else AFTER_STOP, command.name,
                         command.line)
            if not reached:
                if index < len(commands):
                    template, name, line = ender
                    self.warn(commands[index].line,
                              "unreachable" if template is AFTER_ALWAYS_STOPS
                              else "action_after_stop", template, {"command": name, "line": line})
                return False, filled
        return True, filled

    def conditional(self, chain: list[Command], filled: bool) -> tuple[bool, bool]:
        ends: list[bool] = []  # `filled` at the end of each branch that falls through
        taken: int | None = None  # the line of a test that is always true
        for branch in chain:
            if taken is not None:
                self.warn(branch.line, "unreachable", BRANCH_AFTER_ALWAYS,
                          {"command": branch.name, "line": taken})
                continue
            if branch.name == "else":
                reached, end = self.block(branch.block or (), filled)
                if reached:
                    ends.append(end)
                taken = branch.line
                continue
            for test in branch.tests:
                self.test_strings(test, filled)
            value = _constant(branch.tests[0]) if len(branch.tests) == 1 else None
            true, false = (_outcomes(branch.tests[0], filled) if len(branch.tests) == 1
                           else (filled, filled))
            if value is False:
                self.warn(branch.line, "never_matches", BRANCH_NEVER_RUNS,
                          {"command": branch.name})
            else:
                reached, end = self.block(branch.block or (), true)
                if reached:
                    ends.append(end)
                if value is True:
                    taken = branch.line
            filled = false
        if taken is None:
            ends.append(filled)  # no branch ran
        return bool(ends), any(ends)

    def test_strings(self, test: Test, filled: bool) -> None:
        self.strings(test.arguments, filled)
        for position, inner in enumerate(test.tests):
            # A member may run after any earlier one, successful or not.
            before = filled or any(_may_match(t) for t in test.tests[:position])
            self.test_strings(inner, before)

    def strings(self, arguments: Sequence[Argument], filled: bool) -> None:
        if filled or not self.variables:
            return
        for argument in arguments:
            if argument.kind != "strings":
                continue
            for text in argument.value:
                for number in _MATCH_VARIABLE_RE.findall(text):
                    variable = f"${{{number}}}"
                    self.warn(argument.line, "unset_match_variable", UNSET_MATCH_VARIABLE,
                              {"variable": variable}, once=(argument.line, variable))

    # What each command does, wherever it is.

    def actions(self, commands: Sequence[Command]) -> None:
        for command in walk(commands):
            target = _last_string(command)
            if target is None:
                continue
            value = target.value[0]
            if self.variables and "${" in value:
                continue  # known only at delivery
            if command.name == "fileinto":
                reasons = folder_errors(value)
                if reasons:
                    self.warn(target.line, "invalid_folder", INVALID_FOLDER,
                              {"folder": value, "reason": Word(reasons[0])})
            elif command.name == "redirect":
                address = fold(value)
                if not address or ("redirect", address) in self.reported:
                    continue
                self.reported.add(("redirect", address))
                if address == self.home:
                    self.warn(target.line, "forward_to_self", REDIRECT_TO_SELF,
                              {"target": value.strip()})
                    continue
                path = loop_path(address, self.home, self.forwards_of)
                if path:
                    self.warn(target.line, "forward_loop", FORWARD_LOOP,
                              {"target": value.strip(), "path": " → ".join([self.home, *path])})

    def extensions(self, commands: Sequence[Command]) -> None:
        required: dict[str, int] = {}
        for command in commands:
            if command.name == "require":
                for argument in positional(command):
                    if argument.kind == "strings":
                        for name in argument.value:
                            required.setdefault(name.lower(), argument.line)
        loaded = set(required)
        for name in required:
            loaded |= _IMPLIED.get(name, set())
        used: dict[str, tuple[int, str]] = {}
        literal_variables: list[tuple[int, str]] = []
        for line, extension, feature in _uses(commands):
            used.setdefault(extension, (line, feature))
        for line, text in _variable_references(commands):
            if "variables" in loaded:
                used.setdefault("variables", (line, text))
            elif not literal_variables and "variables" not in used:
                # With `set` or `string` the script is refused anyway: that warning says why.
                literal_variables.append((line, text))
        # `if ihave "x"` loads x for its block only: what a block may use is then unknown.
        if "ihave" not in used:
            for extension, (line, feature) in used.items():
                if extension not in loaded and not (extension == "enotify" and "notify" in loaded):
                    self.warn(line, "extension_not_required", EXTENSION_NOT_REQUIRED,
                              {"feature": feature, "extension": extension})
        for line, text in literal_variables:
            self.warn(line, "extension_not_required", VARIABLES_NOT_REQUIRED, {"text": text})
        known = {*_COMMAND_EXTENSIONS.values(), *_TEST_EXTENSIONS.values(),
                 *_TAG_EXTENSIONS.values(), "encoded-character", "spamtestplus"}
        for name, line in required.items():
            if name.startswith("comparator-"):
                known.add(name)
            # "vacation-seconds" alone is what makes `vacation` work, :seconds or not.
            through = any(i in used and i not in required for i in _IMPLIED.get(name, ()))
            if name in known and name not in used and not through:
                self.warn(line, "extension_unused", EXTENSION_UNUSED, {"extension": name})


def script_redirects(text: str) -> set[str]:
    """The addresses a script's `redirect` commands may send mail to (folded, as the
    forwarding graph keys them); those built from variables are known only at delivery.
    A script that is not Sieve syntax redirects nowhere (sievec refuses it)."""
    try:
        commands = parse_script(text)
    except (ScriptSyntaxError, RecursionError):
        return set()
    found = set()
    for command in walk(commands):
        target = _last_string(command) if command.name == "redirect" else None
        if target is not None and "${" not in target.value[0] and fold(target.value[0]):
            found.add(fold(target.value[0]))
    return found


def _uses(commands: Sequence[Command]) -> Iterator[tuple[int, str, str]]:
    """(line, extension, what uses it) for each use of an extension in the script."""
    for command in walk(commands):
        nodes: list[Command | Test] = [command]
        for test in command.tests:
            nodes.extend(_subtree(test))
        for node in nodes:
            table = _COMMAND_EXTENSIONS if isinstance(node, Command) else _TEST_EXTENSIONS
            if node.name in table:
                yield node.line, table[node.name], node.name
            own = _OWN_TAGS.get(node.name, set())
            arguments = list(node.arguments)
            for position, argument in enumerate(arguments):
                if argument.kind != "tag" or argument.value in own:
                    continue
                if argument.value in _TAG_EXTENSIONS:
                    yield argument.line, _TAG_EXTENSIONS[argument.value], argument.value
                following = arguments[position + 1] if position + 1 < len(arguments) else None
                if (argument.value == ":comparator" and following is not None
                        and following.kind == "strings" and following.value
                        and following.value[0].lower() not in _KNOWN_COMPARATORS):
                    yield (argument.line, f"comparator-{following.value[0].lower()}",
                           f":comparator \"{following.value[0]}\"")
            if node.name != "require":
                for argument in node.arguments:
                    if argument.kind == "strings" and any(
                            _ENCODED_RE.search(text) for text in argument.value):
                        yield argument.line, "encoded-character", "${hex:…}"


def _variable_references(commands: Sequence[Command]) -> Iterator[tuple[int, str]]:
    for command in walk(commands):
        if command.name == "require":
            continue
        nodes: list[Command | Test] = [command]
        for test in command.tests:
            nodes.extend(_subtree(test))
        for node in nodes:
            for argument in node.arguments:
                if argument.kind != "strings":
                    continue
                for text in argument.value:
                    found = _VARIABLE_RE.search(text)
                    if found:
                        yield argument.line, found.group()


def lint_script(
    script: str,
    *,
    address_email: str,
    forwards_of: Mapping[str, set[str]] | TargetsOf | None = None,
) -> list[LintWarning]:
    """Warnings for the advanced script of `address_email`, by line (`LintWarning.line`;
    `position` is 0 and `rule_name` empty: there are no rules). `forwards_of` is the
    forwarding graph, as for `lint_rules`. A script that does not parse gives none."""
    try:
        commands = parse_script(script)
    except ScriptSyntaxError:
        return []
    if forwards_of is None or isinstance(forwards_of, Mapping):
        forwards_of = targets_from_mapping(forwards_of or {})
    variables = any(
        command.name == "require" and any(
            "variables" in (name.lower() for name in a.value)
            for a in positional(command) if a.kind == "strings")
        for command in commands)
    review = _Review(home=fold(address_email), forwards_of=forwards_of, variables=variables)
    try:
        review.block(commands, False)
    except ScriptSyntaxError:
        return []
    review.actions(commands)
    review.extensions(commands)
    return sorted(review.warnings, key=lambda w: w.line or 0)


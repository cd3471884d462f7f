"""The pure core of a domain's security check: what the DNS answers for a domain (through
a lookup function given by the caller, as in the SPF doctor) compared with what our mail
service needs (`Expected`: our MX hosts, our SPF include, the stored DKIM keys, the client
names) → findings, each with a severity and, where one record change repairs it, the
record to create (and the ones it replaces). No ORM, no resolver here.

Messages are English templates marked with `gettext_noop`; a parameter may itself be a
message (a `(template, params)` pair); the Django side translates them."""
from .checks import (  # noqa: F401
    CLIENT_NAMES,
    SEVERITIES,
    Expected,
    Finding,
    Fix,
    check,
    finding_data,
    findings_from_json,
    findings_to_json,
    worst,
)
from .dmarc import Dmarc, parse_dmarc, repaired  # noqa: F401

"""The pure core of the SPF doctor (RFC 7208): parse a record and explain its terms, count
its DNS lookups recursively with the real total and a tree per include, switch its
qualifier, merge several providers' records, and flatten includes into addresses. No ORM,
no subprocess, no resolver: lookups go through a function given by the caller
(`lookup(name, type) -> values`), so the Django side answers them through
`dnszones.resolver` and tests answer them from a dict.

Messages are English templates with `%(name)s` parameters, marked with `gettext_noop` and
translated on the Django side (`dnszones.services.common.message`)."""
from .analysis import (  # noqa: F401
    DnsFailure,
    Finding,
    Node,
    Report,
    analyse,
    report_data,
    spf_records,
)
from .edit import EditRefused, Merged, merge, with_qualifier  # noqa: F401
from .flatten import Flattened, flatten  # noqa: F401
from .terms import Parsed, Term, parse, render, render_message  # noqa: F401

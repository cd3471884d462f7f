"""sieve-test's report and trace, parsed without running it (outputs seen on Pigeonhole 0.5.19)."""

from mailservice.sieve import HeaderEdit, SimAction
from mailservice.sieve.trace import parse_result, parse_trace

REPORT = """
Performed actions:

 * store message in folder: Mail List/SL-Devel
        + create mailbox if it does not exist
        + add IMAP flags: \\flagged \\seen
 * store message in folder: Arch ive
        + preserve implicit keep
 * redirect message to: <bob@example.com>
        + preserve implicit keep
 * send vacation message:
    => seconds : 604800

START MESSAGE
x
END MESSAGE
 * discard

Implicit keep:

 * store message in folder: INBOX
        + add IMAP flags: $Label1
"""

TRACE = """
      ## Started executing script 'script'
   9: deleteheader command
   9:   deleting header `Subject'
   9:   deleted 1 occurrences of header `Subject'
  10: addheader "Subject: Re: kernel 6.1 update"
  11: addheader :last "X-Long: 0123456789012345678901234567890123456789012345678901234567890123456789..."
  12: deleteheader command
  12:   deleting matching occurrences of header `X-Spam'
  12:   deleting header with value `yes'
      ## Finished executing script 'script'
"""


def test_the_action_report_becomes_structured_actions():
    actions, keep = parse_result(REPORT)
    assert actions[0] == SimAction(
        "store", "Mail List/SL-Devel", ("\\Flagged", "\\Seen"), create=True
    )
    assert actions[1] == SimAction("store", "Arch ive", copy=True)
    assert actions[2] == SimAction("redirect", "bob@example.com", copy=True)
    assert actions[3].kind == "vacation"
    assert "=> seconds : 604800" in actions[3].details
    assert actions[4] == SimAction("discard")
    assert keep == SimAction("store", "INBOX", ("$Label1",), keep="implicit")


def test_an_empty_report_means_nothing_happens():
    assert parse_result("\nPerformed actions:\n\n  (none)\n\nImplicit keep:\n\n  (none)\n") == (
        (),
        None,
    )


def test_header_edits_come_from_the_trace_and_shortened_values_are_flagged():
    steps, edits = parse_trace(TRACE)
    assert edits == (
        HeaderEdit("delete", "Subject"),
        HeaderEdit("add", "Subject", "Re: kernel 6.1 update"),
        HeaderEdit(
            "add",
            "X-Long",
            "0123456789012345678901234567890123456789012345678901234567890123456789...",
            truncated=True,
        ),
        HeaderEdit("delete", "X-Spam", "yes"),
    )
    assert steps[0].line == 9

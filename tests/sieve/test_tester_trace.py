"""What the tester reads from sieve-test beyond the action list (outputs seen on Pigeonhole
0.5.19): explicit vs implicit keep, each test's result and `stop` from `-T level=matching`,
a vacation's fields from the report and its `:addresses` and the script's extensions
from the dump (`-d`)."""

from mailservice.sieve.trace import (
    TracedTest,
    VacationReport,
    parse_dump,
    parse_result,
    parse_tests,
    parse_vacation,
)

MATCHING_TRACE = """
      ## Started executing script 't'
   2: header test
   2:   starting `:contains' match with `i;ascii-casemap' comparator:
   2:   extracting `subject' headers from message
   2:   matching value `hi'
   2:     with key `hi' => 1
   2:   finishing match with result: matched
   2: jump if result is false
   2:   not jumping
   3: addflag command
   3:   add flags `\\Seen'
   5: address test
   5:   starting `:is' match with `i;ascii-casemap' comparator:
   5:   extracting `from' headers from message
   5:   finishing match with result: not matched
   5: jump if result is true
   5:   not jumping
   5: header test
   5:   finishing match with result: matched
   5: jump if result is true
   5:   jumping to line 6
   6: fileinto action
   6:   store message in mailbox `Copies'
   7: size :over test
   7:   comparing message size 40
   7:   with upper limit 10
   7: jump if result is false
   7:   not jumping
   8: exists test
   8:   header `x-foo' is missing
   8:   headers are missing
   8: jump if result is true
   8:   not jumping
   9: deleteheader command
   9:   deleting matching occurrences of header `subject'
   9:     starting `:matches' match with `i;ascii-casemap' comparator:
   9:     finishing match with result: matched
  10: currentdatedate test
  10:   finishing match with result: matched
  10: jump if result is false
  10:   not jumping
  11: envelope test
  11:   finishing match with result: matched
  11: jump if result is false
  11:   not jumping
  11: fileinto action
  11:   store message in mailbox `Env'
  11: stop command; end all script execution
      ## Finished executing script 't'
"""


def test_each_evaluated_test_has_its_own_result_and_stop_its_line():
    tests, stopped = parse_tests(MATCHING_TRACE)
    assert tests == (
        TracedTest(2, "header", True),
        TracedTest(5, "address", False),
        TracedTest(5, "header", True),
        # No match to report: the jump on the test's result tells it.
        TracedTest(7, "size :over", True),
        TracedTest(8, "exists", False),
        TracedTest(10, "currentdate", True),
        TracedTest(11, "envelope", True),
    )
    assert stopped == 11


def test_a_script_that_runs_to_its_end_has_no_stop():
    tests, stopped = parse_tests("   2: header test\n   2: jump if result is false\n"
                                 "   2:   jumping to line 4\n")
    assert tests == (TracedTest(2, "header", False),) and stopped is None


REPORT = """
Performed actions:

 * store message in folder: INBOX
 * store message in folder: Archive
        + preserve implicit keep
 * send vacation message:
    => seconds : 86400
    => subject : Away until Monday
    => from    : Bob <bob@y.z>
    => handle  : I am away.
 * not an action
Away until MondayBob <bob@y.z><NO-MIME>

START MESSAGE
I am away.

 * not an action either
END MESSAGE

Implicit keep:

 * store message in folder: INBOX
"""


def test_an_explicit_keep_and_the_implicit_keep_are_told_apart():
    actions, keep = parse_result(REPORT)
    assert [(a.kind, a.target, a.keep) for a in actions] == [
        ("store", "INBOX", "explicit"), ("store", "Archive", None),
        ("vacation", "send vacation message:", None)]
    assert keep.keep == "implicit"


def test_the_vacation_fields_and_text_are_read_from_the_report():
    assert parse_vacation(REPORT) == VacationReport(
        seconds=86400, subject="Away until Monday", sender="Bob <bob@y.z>",
        reason="I am away.\n\n * not an action either")
    plain = parse_vacation(" * send vacation message:\n    => seconds : 604800\n"
                           "    => handle  : Default<default-subject><default-from><NO-MIME>\n\n"
                           "START MESSAGE\nDefault\nEND MESSAGE\n")
    assert plain == VacationReport(seconds=604800, subject=None, sender=None, reason="Default")
    assert parse_vacation(" * discard\n") is None


DUMP = """
* Required extensions (block: 1):

  0: vacation (id: 9)
  1: vacation-seconds (id: 29)

* Main program (block: 2):

Address   Line  Code
00000000:       DEBUG BLOCK: 3
00000001:       EXTENSIONS [1]:
00000002:         vacation
00000004:    2: HEADER
00000007:         match type: is
0000000a:         header names: STR[1] "x"
0000000e:         key list: STR[1] "y"
00000012:    2: JMPFALSE 81 [00000064]
00000017:    2: VACATION
0000001a:         addresses: STR[9] "other@y.z"
00000027:         reason: STR[5] "first"
0000005f:    2: JMP 82 [000000b2]
00000064:   13: VACATION
00000067:         addresses: STRLIST [2] (end: 00000082)
0000006d:           STR[6] "me@y.z"
00000076:           STR[9] "alias@y.z"
00000083:         subject: STR[1] "S"
00000088:         reason: STR[6] "second"
00000091:         handle: STR[30] "secondS<default-from><NO-MIME>"
000000b2:   13: [End of code]
"""


def test_the_dump_gives_the_extensions_and_each_vacations_addresses():
    extensions, addresses = parse_dump(DUMP)
    assert extensions == ("vacation", "vacation-seconds")
    assert addresses == {2: ("other@y.z",), 13: ("me@y.z", "alias@y.z")}

"""Reading Dovecot's log for LMTP deliveries a Sieve script killed (pure), on lines recorded
from Dovecot 2.3.19 + Pigeonhole delivering to a script that panics the engine."""
from mailservice.backends.delivery_log import complete_lines, delivery_failures

SESSION = "0CU0NQKpDmv1SwAAg+zDdQ"
RECORDED = f"""\
Dec 01 11:01:18 master: Info: Dovecot v2.3.19.1 (9b53102964) starting up for imap, lmtp, sieve (core dumps disabled)
Dec 01 11:01:22 lmtp(19445): Info: Connect from 127.0.0.1
Dec 01 11:01:22 lmtp(alice@probe.test)<19445><{SESSION}>: Panic: file mcht-matches.c: line 102 (_scan_key_section): assertion failed: (*wcardp == key_end)
Dec 01 11:01:22 lmtp(alice@probe.test)<19445><{SESSION}>: Error: Raw backtrace: #0 t_askpass[0x7f04140ed430] -> #1 backtrace_append[0x7f04140ed6a0]
Dec 01 11:01:22 lmtp(alice@probe.test)<19445><{SESSION}>: Fatal: master: service(lmtp): child 19445 killed with signal 6 (core dumps disabled - https://dovecot.org/bugreport.html#coredumps)
Dec 01 11:02:10 lmtp(bob@probe.test)<19501><8OZVFKpeDmuEegAAg+zDdQ>: Info: sieve: msgid=<x@y> from_envelope=<a@b> to_envelope=<bob@probe.test> size=3292 delivery_time=3ms storage_id=s: fileinto action: stored mail into mailbox 'Reports'
Dec 01 11:02:11 imap(bob@probe.test)<19502><abc>: Fatal: not an LMTP delivery
"""


def lines(text, start=0):
    found, _end = complete_lines(text.encode(), start)
    return found


def test_a_panicked_delivery_is_one_failure_of_its_mailbox_with_the_panic_reason():
    [failure] = delivery_failures(lines(RECORDED))
    assert failure.email == "alice@probe.test" and failure.session == SESSION
    assert failure.reason.startswith("file mcht-matches.c: line 102 (_scan_key_section)")
    assert failure.offset == RECORDED.encode().index(b"Dec 01 11:01:22 lmtp(alice")


def test_a_child_killed_without_a_panic_line_counts_with_the_fatal_reason():
    text = (f"Dec 01 11:05:00 lmtp(Carol@Probe.test)<20000><{SESSION}>: Fatal: master: "
            "service(lmtp): child 20000 killed with signal 9\n")
    [failure] = delivery_failures(lines(text))
    assert failure.email == "carol@probe.test"
    assert failure.reason == "master: service(lmtp): child 20000 killed with signal 9"


def test_a_panic_after_the_fatal_line_still_gives_the_reason():
    text = (f"lmtp(a@b.test)<1><{SESSION}>: Fatal: child 1 killed with signal 6\n"
            f"lmtp(a@b.test)<1><{SESSION}>: Panic: file x.c: assertion failed\n")
    assert [f.reason for f in delivery_failures(lines(text))] == ["file x.c: assertion failed"]


def test_two_sessions_of_one_mailbox_are_two_failures():
    text = ("lmtp(a@b.test)<1><s1>: Panic: first\n"
            "lmtp(a@b.test)<2><s2>: Panic: second\n")
    assert [(f.session, f.reason) for f in delivery_failures(lines(text))] == [
        ("s1", "first"), ("s2", "second")]


def test_successful_deliveries_other_processes_and_errors_are_not_failures():
    text = ("lmtp(a@b.test)<1><s1>: Error: sieve: failed to execute script: runtime error\n"
            "lmtp(4242): Fatal: master: service(lmtp): child 4242 returned error 89\n"
            "imap(a@b.test)<1><s1>: Panic: not a delivery\n"
            "lmtp(a@b.test)<1><s1>: Info: Panic: is only words here\n")
    assert delivery_failures(lines(text)) == []


def test_offsets_count_from_where_the_read_started_and_a_partial_line_waits():
    data = b"one\ntwo\nthr"
    found, end = complete_lines(data, 100)
    assert found == [(100, "one"), (104, "two")]
    assert end == 108  # "thr" is read again, whole, next time


def test_a_long_reason_is_cut():
    text = "lmtp(a@b.test)<1><s1>: Panic: " + "x" * 5000 + "\n"
    assert len(delivery_failures(lines(text))[0].reason) == 300

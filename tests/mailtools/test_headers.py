"""The header viewer's pure core: what it reads from real and hostile messages, and that
nothing a message holds makes it fail or reach the page unescaped."""
import zoneinfo
from datetime import UTC, datetime
from pathlib import Path

from django.template.loader import render_to_string
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailtools import headers

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples"
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
OURS = frozenset({"mx.ours.example"})
CHAIN = (b"Return-Path: <bounce@phish.example>\r\n"
         b"Received: from mail.phish.example (mail.phish.example [203.0.113.9])\r\n"
         b"\tby mx.ours.example (Postfix) with ESMTPS id 4Q1;\r\n"
         b"\tFri, 27 Nov 2026 09:12:50 +0100\r\n"
         b"Authentication-Results: mx.ours.example; spf=pass smtp.mailfrom=phish.example;\r\n"
         b"\tdkim=fail (bad signature) header.d=bank.example; dmarc=fail header.from=bank.example\r\n"
         b"Authentication-Results: forged.example; dkim=pass header.d=bank.example\r\n"
         b"Received: from [10.0.0.5] by mail.phish.example with ESMTP;\r\n"
         b"\tFri, 27 Nov 2026 08:10:44 +0000\r\n"
         b"From: \"Bank\" <security@bank.example>\r\nTo: alice@domain.xyz\r\n"
         b"Subject: Verify your account\r\nDate: Fri, 27 Nov 2026 09:10:40 +0100\r\n\r\nClick.\r\n")


def test_the_chain_reads_in_travel_order_with_delays_in_the_zone():
    result = headers.analyse(CHAIN, zone=PARIS, ours=OURS)
    assert [hop["by"] for hop in result["hops"]] == ["mail.phish.example", "mx.ours.example (Postfix)"]
    first, second = result["hops"]
    assert first["delay_seconds"] is None and second["delay_seconds"] == 126
    assert second["delay_text"] == "2 min 6 s" and second["ip"] == "203.0.113.9"
    assert second["local_time"] == datetime(2026, 11, 27, 9, 12, 50, tzinfo=PARIS)
    assert str(second["local_time"].tzinfo) == "Europe/Paris"
    assert result["sender"] == [{"name": "Bank", "address": "security@bank.example"}]
    assert result["subject"] == "Verify your account"


def test_only_our_authserv_id_is_verified():
    results = headers.analyse(CHAIN, zone=PARIS, ours=OURS)["authentication"]
    assert [(r["method"], r["result"], r["authserv_id"], r["verified"]) for r in results] == [
        ("spf", "pass", "mx.ours.example", True), ("dkim", "fail", "mx.ours.example", True),
        ("dmarc", "fail", "mx.ours.example", True), ("dkim", "pass", "forged.example", False)]


def test_our_id_below_another_servers_hop_is_a_forgery_not_verified():
    forged = (b"Received: from relay.phish.example ([203.0.113.9]) by mx.ours.example; "
              b"Fri, 27 Nov 2026 09:12:50 +0100\r\n"
              b"Received: from [10.0.0.5] by relay.phish.example; Fri, 27 Nov 2026 09:12:00 +0100\r\n"
              b"Authentication-Results: mx.ours.example; dkim=pass header.d=bank.example\r\n"
              b"From: security@bank.example\r\n")
    [result] = headers.analyse(forged, zone=PARIS, ours=OURS)["authentication"]
    assert (result["authserv_id"], result["verified"], result["before_us"]) == ("mx.ours.example", False, True)


def test_a_sample_message_reads_its_sender_and_date():
    raw = (SAMPLES / "facebook.eml").read_bytes()
    result = headers.analyse(raw, zone=UTC, ours=OURS)
    assert result["sender"][0]["address"] == "notification@facebook.com"
    assert result["date"] == datetime(2026, 11, 27, 8, 12, 44, tzinfo=UTC)
    assert result["hops"] == [] and result["authentication"] == []


def test_bad_or_missing_dates_are_unknown():
    for date in (b"Date: yesterday-ish\r\n", b"Date: Fri, 27 Nov 99999 09:12:44 +0100\r\n", b""):
        result = headers.analyse(date + b"From: a@b.example\r\nReceived: by x; not a date\r\n",
                                 zone=PARIS, ours=OURS)
        assert result["date"] is None
        assert result["hops"][0]["local_time"] is None and result["hops"][0]["delay_seconds"] is None


def test_bidi_controls_nuls_and_surrogates_are_visible_markers():
    raw = "Subject: pay\u202egpj.exe\x00 now\r\nFrom: x@y.example\r\n".encode() + b"X-Bad: \xff\xfe\r\n"
    result = headers.analyse(raw, zone=PARIS, ours=OURS)
    assert result["subject"] == "pay<U+202E>gpj.exe<U+0000> now"
    assert "<U+DCFF>" in result["headers"][-1]["value"]


def test_a_huge_header_is_cut_and_says_so():
    raw = b"Subject: " + b"A" * 100_000 + b"\r\n\r\n"
    subject = headers.analyse(raw, zone=PARIS, ours=OURS)["subject"]
    assert subject.startswith("A" * 2000) and subject.endswith("[98000 more characters]")


def render(analysis):
    return render_to_string("mailtools/_header_analysis.html", {"analysis": {**analysis, "time_zone": "UTC"}})


def test_script_in_a_header_is_shown_as_text():
    raw = b"From: <script>alert(1)</script> <x@y.example>\r\nSubject: <script>alert(2)</script>\r\n"
    page = render(headers.analyse(raw, zone=UTC, ours=OURS))
    assert "<script" not in page and "&lt;script&gt;alert(2)&lt;/script&gt;" in page


HEADER_NAMES = st.sampled_from(["From", "To", "Cc", "Subject", "Date", "Received", "Return-Path",
                                "Authentication-Results", "Message-ID", "X-Anything", "Reply-To"])
PIECES = st.sampled_from(list("<>&\"'/;=()[]@:, \t\r\n\x00\u202e\u2066\ufeffaZ9é=?")
                         + ["<script>", "=?utf-8?q?", "?=", "=?x?b?", "\r\n ", "spf=pass", "; "])
HOSTILE = st.lists(PIECES, max_size=30).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(HEADER_NAMES, HOSTILE), max_size=12), st.binary(max_size=200))
def test_no_message_makes_the_viewer_fail_or_leak_markup(fields, tail):
    raw = b"".join(f"{name}: {value}\r\n".encode("utf-8", "surrogatepass") for name, value in fields) + tail
    result = headers.analyse(raw, zone=PARIS, ours=OURS)
    page = render(result)
    assert "<script" not in page
    assert not any(ch in page for ch in "\x00\u202e\u2066\ufeff")
    page.encode("utf-8")  # no lone surrogate reaches the response


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_raise(raw):
    result = headers.analyse(raw, zone=PARIS, ours=OURS)
    render(result).encode("utf-8")

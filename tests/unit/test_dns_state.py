"""The DNS push's pure data: a diff names each changed RRset once on each side."""
from dnszones.backends.base import RRset, ZoneState, diff


def test_a_diff_deletes_and_adds_only_what_changed():
    www = RRset("www.example.org.", "A", 300, ("192.0.2.1",))
    mx = RRset("example.org.", "MX", 3600, ("10 mx.example.net.",))
    before = ZoneState("example.org.", (mx, www))
    after = ZoneState("example.org.", (mx, RRset("www.example.org.", "A", 300, ("192.0.2.2",))))
    changes = diff(before, after)
    assert changes.delete == (www,) and [r.values for r in changes.add] == [("192.0.2.2",)]
    assert diff(after, after).empty and diff(None, after).add == tuple(sorted(after.rrsets))

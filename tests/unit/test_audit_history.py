"""The audit history's pure core: before/after snapshots → rows in words."""
import datetime

import pytest
from django.utils import translation

from manager.audit.history import ChangeRow, change_rows, format_value, stored_pairs


@pytest.fixture(autouse=True)
def english():
    """A page test run before may leave its language active in this thread."""
    with translation.override("en"):
        yield


def test_only_changed_fields_become_rows_in_their_order_with_their_labels():
    rows = change_rows({"display_name": "Alice", "quota_mb": 100, "enabled": True},
                       {"display_name": "Alice M.", "quota_mb": 100, "enabled": False},
                       labels={"display_name": "Display name"})
    assert rows == [ChangeRow("display_name", "Display name", "Alice", "Alice M.", "changed"),
                    ChangeRow("enabled", "Enabled", "Yes", "No", "changed")]


def test_created_and_deleted_values_are_set_and_cleared():
    assert [(r.kind, r.before, r.after) for r in change_rows(None, {"target": "a@b.example"})] == [
        ("set", "—", "a@b.example")]
    assert [(r.kind, r.before, r.after) for r in change_rows({"target": "a@b.example"}, {})] == [
        ("cleared", "a@b.example", "—")]


def test_values_read_as_words_never_as_python_reprs():
    assert format_value(["read", "send"]) == "read, send"
    assert format_value({"field": "from", "operator": "contains", "value": "x"}) == (
        "field: from, operator: contains, value: x")
    assert format_value([{"kind": "move", "argument": "News"}, {"kind": "stop"}]) == (
        "argument: News, kind: move; kind: stop")  # keys sorted: jsonb keeps no order
    assert format_value(None) == format_value([]) == format_value("") == "—"
    assert format_value(0) == "0" and format_value(12) == "12"
    assert format_value("premium", {"premium": "Premium"}) == "Premium"
    assert format_value(["read"], {"read": "Read"}) == "Read"
    for value in (["a", "b"], {"k": 1}, [{"k": 1}], True):
        text = format_value(value)
        assert not any(mark in text for mark in "[]{}'\"") and text != str(value)


def test_booleans_and_dates_follow_the_active_language():
    with translation.override("fr"):
        assert format_value(True) == "Oui" and format_value(False) == "Non"
        assert format_value("2026-03-05 14:07:00+00:00") == "05/03/2026 14:07"
    with translation.override("en"):
        assert format_value(True) == "Yes"
        assert format_value(str(datetime.datetime(2026, 3, 5, 14, 7, tzinfo=datetime.UTC))) == (
            "03/05/2026 2:07 p.m.")
    assert format_value("2026-13-45 99:99 not a date") == "2026-13-45 99:99 not a date"


def test_choices_apply_per_field_and_multiline_values_are_marked():
    rows = change_rows({"plan": "starter", "sieve_script": "keep;\n"},
                       {"plan": "premium", "sieve_script": "discard;\nstop;\n"},
                       choices={"plan": {"starter": "Starter", "premium": "Premium"}})
    assert (rows[0].before, rows[0].after, rows[0].multiline) == ("Starter", "Premium", False)
    assert rows[1].label == "Sieve script" and rows[1].multiline


def test_stored_changes_split_into_before_and_after():
    assert stored_pairs({"name": ["a", "b"], "odd": "x"}) == ({"name": "a"}, {"name": "b", "odd": "x"})
    assert stored_pairs(None) == ({}, {})

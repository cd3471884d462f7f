"""The delivery log's parser is a pure core, like the Sieve one: it imports without Django,
without subprocess, temp files or threads (the file reading is backends/log_tail.py)."""
from tests.sieve.test_purity import unwanted_after_importing

MODULES = ["mailservice.delivery", "mailservice.delivery.parse"]


def test_the_parser_imports_when_subprocess_is_unavailable():
    assert unwanted_after_importing(MODULES, without_subprocess=True) == []


def test_the_parser_imports_no_django():
    assert unwanted_after_importing(MODULES, without_subprocess=False) == []

"""Fixtures for the Sieve layer tests: no Django, no database (`sievec` and `sieve_test`
are in tests/conftest.py: tests elsewhere need them too)."""

from pathlib import Path

import pytest

HERE = Path(__file__).parent
SAMPLES = HERE / "samples"


@pytest.fixture(scope="session")
def sample():
    """sample("facebook") -> the bytes of tests/sieve/samples/facebook.eml."""

    def load(name: str) -> bytes:
        return (SAMPLES / f"{name}.eml").read_bytes()

    return load

"""Fixtures for the Sieve layer tests: no Django, no database."""

import os
import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).parent
SAMPLES = HERE / "samples"


def _require_tools(*names: str) -> None:
    missing = [name for name in names if not shutil.which(name)]
    if not missing:
        return
    message = f"Dovecot Pigeonhole tool(s) not installed: {', '.join(missing)}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def sievec():
    """Tests that run the real `sievec` request this (skip locally, fail on CI)."""
    _require_tools("sievec")


@pytest.fixture(scope="session")
def sieve_test():
    """Tests that run the real `sieve-test` request this (skip locally, fail on CI)."""
    _require_tools("sievec", "sieve-test")


@pytest.fixture(scope="session")
def sample():
    """sample("facebook") -> the bytes of tests/sieve/samples/facebook.eml."""

    def load(name: str) -> bytes:
        return (SAMPLES / f"{name}.eml").read_bytes()

    return load

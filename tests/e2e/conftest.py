"""Fixtures that start real daemons: a private Dovecot + Postfix stack on loopback."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from mailservice.backends.localstack import MailStack, missing_binaries


@pytest.fixture(scope="session")
def mail_stack():
    missing = missing_binaries()
    if missing:
        message = f"mail daemons not installed ({', '.join(missing)}): run scripts/install-system-packages.sh"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    # Not pytest's tmp_path: its parent is mode 0700, and the daemons' unprivileged users
    # (Postfix, the mail uid) must traverse to their files.
    root = Path(tempfile.mkdtemp(prefix="mm-e2e-", dir="/tmp"))
    stack = MailStack.start(root)
    try:
        yield stack
    finally:
        stack.stop()
        if os.environ.get("MAILSTACK_KEEP") != "1":
            shutil.rmtree(root, ignore_errors=True)

"""A real Dovecot reports logins to Mail Manager's policy endpoint: the device password
that was used gets its "last used" time."""
import imaplib
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from mailservice import services
from mailservice.desired import desired_state
from mailservice.models import DevicePassword
from scripts.localstack import MailStack

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def policy_stack(mail_stack, live_server, settings):
    # mail_stack first: it fails/skips cleanly when the daemons are not installed.
    settings.MAIL_POLICY_SECRET = "policy-test-secret"
    root = Path(tempfile.mkdtemp(prefix="mm-policy-", dir="/tmp"))
    stack = MailStack.start(root, policy=(f"{live_server.url}/internal/dovecot-policy/",
                                          "policy-test-secret"))
    try:
        yield stack
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_login_with_a_device_password_records_its_last_use(policy_stack, owner, organisation):
    service = services.mail_service_create(actor=owner, organisation=organisation, domain="policy.test",
                                           plan="premium")
    alice = services.address_create(actor=owner, service=service, local_part="alice")
    services.access_grant(actor=owner, address=alice, user=owner, permissions=["read", "send"])
    used, password = services.device_password_create(actor=owner, address=alice, name="laptop")
    unused, _ = services.device_password_create(actor=owner, address=alice, name="phone")
    policy_stack.backend().apply(desired_state(service))

    imap = imaplib.IMAP4(policy_stack.host, policy_stack.imap_port, timeout=30)
    assert imap.login("alice@policy.test", password)[0] == "OK"
    imap.logout()
    deadline = time.monotonic() + 10
    while DevicePassword.objects.get(pk=used.pk).last_used is None:
        assert time.monotonic() < deadline, "Dovecot's report never stamped the device"
        time.sleep(0.2)
    assert DevicePassword.objects.get(pk=unused.pk).last_used is None

"""Bans of mail logins against a real Dovecot that asks Mail Manager as its auth policy
server (IMAP and SMTP AUTH through Postfix's Dovecot SASL), and a policy server that is
down: logins go on and Dovecot logs the failure."""
import imaplib
import shutil
import smtplib
import socket
import tempfile
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from mailservice import services
from mailservice.desired import desired_state
from manager.accounts import services as accounts
from manager.security import services as bans
from manager.security.models import Ban
from scripts.localstack import MailStack
from tests.e2e.test_backend_adapter import SourcedIMAP
from tests.factories import PASSWORD, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SECRET = "policy-test-secret"


def start_stack(url):
    root = Path(tempfile.mkdtemp(prefix="mm-bans-", dir="/tmp"))
    return root, MailStack.start(root, policy=(url, SECRET))


@pytest.fixture
def policy_stack(mail_stack, live_server, settings):
    settings.MAIL_POLICY_SECRET = SECRET
    settings.BANS = {"account_failures": 2, "account_window_seconds": 900,
                     "spray_accounts": 50, "spray_window_seconds": 900, "ban_seconds": 600}
    root, stack = start_stack(f"{live_server.url}/internal/dovecot-policy/")
    try:
        yield stack
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


def mailboxes(stack, owner, organisation, domain):
    service = services.mail_service_create(actor=owner, organisation=organisation, domain=domain,
                                           plan="premium")
    passwords = {}
    for local_part in ("alice", "bob"):
        address = services.address_create(actor=owner, service=service, local_part=local_part)
        services.access_grant(actor=owner, address=address, user=owner, permissions=["read", "send"])
        passwords[address.email] = services.device_password_create(
            actor=owner, address=address, name="laptop")[1]
    stack.backend().apply(desired_state(service))
    return passwords


def imap_login(stack, login, password, source="127.0.0.1") -> bool:
    client = SourcedIMAP(stack.host, stack.imap_port, source)
    try:
        client.login(login, password)
    except imaplib.IMAP4.error:
        return False
    client.logout()
    return True


def smtp_login(stack, login, password, source="127.0.0.1") -> bool:
    with smtplib.SMTP(stack.host, stack.submission_port, timeout=30,
                      source_address=(source, 0)) as smtp:
        try:
            smtp.login(login, password)
        except smtplib.SMTPAuthenticationError:
            return False
    return True


def test_failed_imap_logins_ban_the_account_from_that_address_for_imap_smtp_web_and_api(
        policy_stack, owner, organisation, client):
    passwords = mailboxes(policy_stack, owner, organisation, "bans.test")
    alice, bob = "alice@bans.test", "bob@bans.test"
    person = make_user(alice)  # the address is also this person's web login
    _token, raw = accounts.api_token_create(actor=person, name="ci")
    source = "127.0.3.10"
    assert not imap_login(policy_stack, alice, "wrong", source)
    assert not imap_login(policy_stack, alice, "wrong", source)
    ban = Ban.objects.get()
    assert (ban.network, ban.account) == (f"{source}/32", alice)

    # The same ban holds on the web login and the API from that address.
    login = {"username": alice, "password": PASSWORD}
    assert client.post("/accounts/login/", login, REMOTE_ADDR=source).status_code == 429
    api = APIClient(REMOTE_ADDR=source)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/organisations/").status_code == 429

    # The right password is refused now, over IMAP and SMTP AUTH, from that address only.
    assert not imap_login(policy_stack, alice, passwords[alice], source)
    assert not smtp_login(policy_stack, alice, passwords[alice], source)
    assert imap_login(policy_stack, alice, passwords[alice], "127.0.3.11")
    assert imap_login(policy_stack, bob, passwords[bob], source)  # other accounts from there
    assert Ban.objects.get().expires == ban.expires  # the refused retries extended nothing

    bans.ban_lift(actor=owner, organisation=organisation, ban=ban)
    assert imap_login(policy_stack, alice, passwords[alice], source)
    assert smtp_login(policy_stack, alice, passwords[alice], source)


def test_failed_smtp_logins_ban_imap_too(policy_stack, owner, organisation):
    passwords = mailboxes(policy_stack, owner, organisation, "smtpbans.test")
    alice, source = "alice@smtpbans.test", "127.0.3.20"
    assert not smtp_login(policy_stack, alice, "wrong", source)
    assert not smtp_login(policy_stack, alice, "wrong", source)
    assert Ban.objects.filter(account=alice).exists()
    assert not imap_login(policy_stack, alice, passwords[alice], source)


def test_with_the_policy_server_down_logins_still_work_and_dovecot_logs_it(
        mail_stack, owner, organisation):
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    root, stack = start_stack(f"http://127.0.0.1:{port}/internal/dovecot-policy/")
    try:
        passwords = mailboxes(stack, owner, organisation, "down.test")
        assert imap_login(stack, "alice@down.test", passwords["alice@down.test"])
        assert smtp_login(stack, "alice@down.test", passwords["alice@down.test"])
        log = (root / "log/dovecot.log").read_text(errors="replace")
        assert "Policy server HTTP error" in log, log[-2000:]
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_removing_a_member_disconnects_their_open_imap_session(mail_stack, owner, member, organisation):
    from manager.accounts.models import Membership

    service = services.mail_service_create(actor=owner, organisation=organisation, domain="kick.test",
                                           plan="premium")
    address = services.address_create(actor=owner, service=service, local_part="carol")
    services.access_grant(actor=owner, address=address, user=member, permissions=["read"])
    _device, password = services.device_password_create(actor=owner, address=address, name="phone",
                                                        user=member)
    backend = mail_stack.backend()
    backend.apply(desired_state(service))
    session = imaplib.IMAP4(mail_stack.host, mail_stack.imap_port, timeout=30)
    session.login(address.email, password)
    assert session.noop()[0] == "OK"

    accounts.member_remove(actor=owner, membership=Membership.objects.get(user=member))
    backend.apply(desired_state(service))  # what the push worker runs
    with pytest.raises((imaplib.IMAP4.abort, OSError)):
        session.noop()
        session.noop()  # the server's BYE may come with the first answer's read
    assert not imap_login(mail_stack, address.email, password, "127.0.3.30")
    backend.remove_service("kick.test")

"""Where the purge deletes: the mail home Dovecot's mail_home names, never outside it."""
from pathlib import Path
from types import SimpleNamespace

import pytest

from mailservice.backends.base import BackendError
from mailservice.backends.purge import MailboxPurge


def purge_with(mail_home: str) -> MailboxPurge:
    tools = SimpleNamespace(doveadm=lambda *args: SimpleNamespace(stdout=mail_home + "\n"))
    return MailboxPurge(user_db=None, tools=tools)


@pytest.mark.parametrize(("template", "home"), [
    ("/var/vmail/%d/%n", "/var/vmail/example.net/alice"),
    ("/var/vmail/%Ld/%Ln", "/var/vmail/example.net/alice"),
    ("/srv/mail/%{domain}/%{username}/home", "/srv/mail/example.net/alice/home"),
    ("/home/vmail/%u", "/home/vmail/alice@example.net"),
])
def test_home_is_dovecots_mail_home_for_the_address(template, home):
    assert purge_with(template).home("Alice@Example.NET") == Path(home)


@pytest.mark.parametrize("template", [
    "/var/vmail/%2.1n/%n",  # hashing modifiers: not expanded, refused
    "/%d/%n",  # no fixed directory to stay under
    "%h",
    "~/mail",
])
def test_a_mail_home_the_purge_cannot_expand_safely_is_refused(template):
    with pytest.raises(BackendError) as caught:
        purge_with(template).home("alice@example.net")
    assert caught.value.permanent


@pytest.mark.parametrize("email", ["../x@example.net", "a/b@example.net", "..@example.net",
                                   "alice@../../etc", "*@example.net"])
def test_an_address_that_would_leave_the_mail_root_is_refused(email):
    with pytest.raises(BackendError):
        purge_with("/var/vmail/%d/%n").home(email)

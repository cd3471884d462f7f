"""Which INBOXes the push makes ahead of delivery, read from Dovecot's own settings: a
Maildir in the home only, with the mail user's ids; nothing otherwise, and never a
failed push because of it."""
import os
import subprocess

import pytest

from mailservice.backends.inboxes import Inboxes


class Settings:
    """Tools answering `doveadm config -h NAME` from a dict."""

    def __init__(self, **values):
        self.values = values

    def doveadm(self, *args):
        assert args[:2] == ("config", "-h")
        return subprocess.CompletedProcess(args, 0, stdout=self.values[args[2]] + "\n", stderr="")


class Homes:
    def __init__(self, root):
        self.root = root

    def template(self):
        return f"{self.root}/%d/%n"

    def home(self, email):
        local, _, domain = email.partition("@")
        return self.root / domain / local


SETTINGS = {"mail_location": "maildir:~/Maildir:LAYOUT=fs", "mail_uid": str(os.geteuid()),
            "mail_gid": str(os.getegid())}


@pytest.mark.parametrize(("location", "layout"), [
    ("maildir:~/Maildir:LAYOUT=fs", "Maildir"),
    ("maildir:~/mail/.maildir", "mail/.maildir"),
    ("maildir:~/", ""),
    ("maildir:/var/mail/%u", None),  # not in the home: left to Dovecot
    ("mdbox:~/mdbox", None),
    ("maildir:~/../elsewhere", None),
])
def test_only_a_maildir_in_the_home_is_made(tmp_path, location, layout):
    found = Inboxes(Settings(**{**SETTINGS, "mail_location": location}), Homes(tmp_path)).layout()
    assert (found[0] if found else None) == layout


def test_the_inbox_is_made_once_with_every_missing_folder(tmp_path):
    inboxes = Inboxes(Settings(**SETTINGS), Homes(tmp_path))
    assert inboxes.ensure(["alice@example.test", "bob@example.test"]) == 2
    for part in ("cur", "new", "tmp"):
        assert (tmp_path / "example.test/alice/Maildir" / part).is_dir()
    assert (tmp_path / "example.test/alice").stat().st_mode & 0o777 == 0o700
    assert inboxes.ensure(["alice@example.test"]) == 0  # already there


def test_settings_it_cannot_read_make_nothing_and_fail_nothing(tmp_path):
    unknown_user = {**SETTINGS, "mail_uid": "no-such-mail-user-here"}
    assert Inboxes(Settings(**unknown_user), Homes(tmp_path)).ensure(["a@example.test"]) == 0
    assert not list(tmp_path.iterdir())

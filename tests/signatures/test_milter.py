"""The signature milter's handling of one message (signatures/milter.py), without an MTA:
the callbacks are driven as Postfix would, and the changes asked of libmilter recorded."""
import json
import os

import Milter
import pytest

from mailservice.backends.base import StampState
from mailservice.backends.config import DovecotPostfixConfig
from mailservice.backends.signature_file import SignatureFile
from signatures import milter as milter_module
from signatures.milter import SignatureMilter, Signatures
from signatures.stamp import MARKER_HEADER

HEADERS = [("From", "Alice <alice@example.test>"), ("To", "bob@remote.test"),
           ("Subject", "Hi"), ("MIME-Version", "1.0"),
           ("Content-Type", "text/plain; charset=utf-8")]


class Recorded(SignatureMilter):
    """The milter with libmilter's context replaced by a record of the calls."""

    def __init__(self, macros):
        super().__init__()
        self.macros, self.changes = macros, []
        self._protocol = 0  # libmilter's negotiated protocol: every callback replies

    def getsymval(self, name):
        return self.macros.get(name)

    def chgheader(self, name, index, value):
        self.changes.append(("chgheader", name, value))

    def addheader(self, name, value, idx=-1):
        self.changes.append(("addheader", name, value))

    def replacebody(self, body):
        self.changes.append(("replacebody", body))


def write(path, entries):
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(entries))
    os.replace(tmp, path)  # as the worker does: a new file, never half a file


def entry(text="-- \nAlice", html="<b>Alice</b>", **extra):
    return {"html": html, "text": text, "enabled": True, "on_replies": False, "marker": "m1",
            **extra}


@pytest.fixture
def data(tmp_path, monkeypatch):
    path = tmp_path / "signatures.json"
    write(path, {"alice@example.test": entry()})
    monkeypatch.setattr(SignatureMilter, "signatures", Signatures(str(path)), raising=False)
    return path


def deliver(*, login="alice@example.test", sender="<alice@example.test>", headers=HEADERS,
            body=b"Hello\r\n"):
    m = Recorded({"{auth_authen}": login} if login else {})
    assert m.envfrom(sender) == Milter.CONTINUE
    for name, value in headers:
        m.header(name, value)
    m.body(body)
    assert m.eom() == Milter.ACCEPT  # whatever happens, the message goes on
    return m.changes


def test_an_authenticated_message_is_stamped_with_the_senders_signature(data):
    changes = deliver()
    (body,) = [c[1] for c in changes if c[0] == "replacebody"]
    assert body == b"Hello\r\n\r\n-- \r\nAlice\r\n"
    assert ("addheader", MARKER_HEADER, "m1") in changes


def test_no_login_no_signature_off_or_unknown_sender_change_nothing(data):
    assert deliver(login=None) == []
    assert deliver(sender="<carol@example.test>") == []
    write(data, {"alice@example.test": entry(enabled=False)})
    assert deliver() == []


def test_a_changed_file_is_read_again_before_the_next_message(data):
    deliver()
    write(data, {"alice@example.test": entry(text="-- \nAlice, new title")})
    (body,) = [c[1] for c in deliver() if c[0] == "replacebody"]
    assert b"new title" in body


def test_an_unreadable_file_keeps_the_signatures_read_before(data):
    deliver()
    data.write_text("{ not json")
    assert any(c[0] == "replacebody" for c in deliver())


def test_an_error_lets_the_message_through_unchanged(data, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")
    monkeypatch.setattr(milter_module, "stamp", broken)
    assert deliver() == []
    assert "stamping failed" in caplog.text


def test_a_single_part_changing_encoding_gets_its_headers_changed(data):
    write(data, {"alice@example.test": entry(text="-- \nAlice Müller")})
    headers = [h for h in HEADERS if h[0] != "Content-Type"] + [
        ("Content-Type", "text/plain; charset=us-ascii")]
    changes = deliver(headers=headers)
    assert ("chgheader", "Content-Type", 'text/plain; charset="utf-8"') in changes
    assert ("addheader", "Content-Transfer-Encoding", "quoted-printable") in changes


def test_the_file_the_adapter_writes_is_what_the_milter_reads(tmp_path, monkeypatch):
    path = tmp_path / "signatures.json"
    config = DovecotPostfixConfig(dovecot_conf=tmp_path / "d.conf", postfix_dir=tmp_path,
                                  user_db=tmp_path / "u.db", maps_dir=tmp_path,
                                  signatures_file=path)
    SignatureFile(config).write("example.test", [StampState(
        email="alice@example.test", html="<i>A</i>", text="-- \nA", on_replies=True)])
    monkeypatch.setattr(SignatureMilter, "signatures", Signatures(str(path)), raising=False)
    changes = deliver(headers=[*HEADERS, ("In-Reply-To", "<x@remote.test>")])
    (body,) = [c[1] for c in changes if c[0] == "replacebody"]
    assert body.endswith(b"-- \r\nA\r\n")

"""The sender milter's protocol handling, over a socket pair (the real Postfix run is in
tests/e2e/test_sender_login.py)."""
import socket
import struct
import threading

import pytest

from mailservice.backends.sender_milter import MilterHandler, header_addresses


class FakeLookup:
    def __init__(self, table, broken=False):
        self.table, self.broken, self.asked = table, broken, []

    def logins(self, sender):
        self.asked.append(sender)
        return None if self.broken else self.table.get(sender, set())


def packet(command: bytes, data: bytes = b"") -> bytes:
    return struct.pack("!I", len(data) + 1) + command + data


def read(sock) -> tuple[bytes, bytes]:
    (length,) = struct.unpack("!I", sock.recv(4, socket.MSG_WAITALL))
    body = sock.recv(length, socket.MSG_WAITALL)
    return body[:1], body[1:]


@pytest.fixture
def milter():
    def start(lookup):
        ours, theirs = socket.socketpair()
        handler = type("H", (MilterHandler,), {"lookup": lookup})
        thread = threading.Thread(target=handler, args=(theirs, ("", 0), None), daemon=True)
        thread.start()
        ours.sendall(packet(b"O", struct.pack("!III", 6, 0x1FF, 0x1FFFFF)))
        assert read(ours)[0] == b"O"
        return ours
    return start


def message(sock, login: str, from_header: str) -> tuple[bytes, bytes]:
    sock.sendall(packet(b"D", b"M{auth_authen}\0" + login.encode() + b"\0"))
    sock.sendall(packet(b"M", b"<x@y>\0"))
    assert read(sock) == (b"c", b"")
    sock.sendall(packet(b"L", b"Subject\0hi\0"))
    assert read(sock) == (b"c", b"")
    sock.sendall(packet(b"L", b"From\0" + from_header.encode() + b"\0"))
    assert read(sock) == (b"c", b"")
    sock.sendall(packet(b"N"))
    return read(sock)


def test_a_from_address_the_login_owns_continues_and_another_is_refused(milter):
    lookup = FakeLookup({"alice@d.test": {"alice@d.test"}, "sales@d.test": {"alice@d.test"}})
    sock = milter(lookup)
    assert message(sock, "alice@d.test", " Alice <Sales@D.test>") == (b"c", b"")
    command, reply = message(sock, "alice@d.test", " Bob <bob@d.test>")
    assert command == b"y"
    assert reply.startswith(b"550 5.7.1 From: header address <bob@d.test>")
    assert lookup.asked == ["sales@d.test", "bob@d.test"]


def test_an_unreadable_table_defers_rather_than_lets_through(milter):
    sock = milter(FakeLookup({}, broken=True))
    assert message(sock, "alice@d.test", "alice@d.test") == (b"t", b"")


def test_header_addresses_decodes_encoded_words_and_lists_every_address():
    assert header_addresses("=?utf-8?q?Al=C3=AFce?= <A@d.test>, b@d.test") == ["a@d.test", "b@d.test"]
    assert header_addresses("undisclosed") == ["undisclosed"]
    assert header_addresses("") == []

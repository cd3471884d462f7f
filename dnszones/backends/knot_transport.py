"""DNS over TCP to Knot: one message exchanged (an UPDATE), one zone transfer received.

A transfer is received whole before any message is parsed: dnspython parses a full 64 KiB
AXFR message in ~30 ms, and Knot drops a transfer whose reader lets its socket stay full
for its TCP I/O timeout (500 ms by default), which a 10,000-record zone read message by
message reached on a busy machine. Only the answer count and the type of each answer RR
are read while receiving, to see the closing SOA.
"""
from __future__ import annotations

import socket
import struct
import time

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.xfr


def exchange(host: str, port: int, wire: bytes, timeout: float) -> bytes:
    """Send one DNS message over TCP and return the answer's wire form (RFC 1035 §4.2.2
    framing). Each UPDATE of a change-set goes through here exactly once."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(struct.pack("!H", len(wire)) + wire)
        return _read_message(sock)


def axfr(host: str, port: int, zone: dns.name.Name, key: dns.tsig.Key | None, *,
         timeout: float, lifetime: float) -> list[dns.message.Message]:
    """The messages of a TSIG-signed AXFR, each verified (RFC 8945: the first and the last
    must be signed, the ones between are covered by the next signature). Raises
    dns.xfr.TransferError for an error answer, dns.tsig.PeerError when Knot refuses the
    key, OSError/EOFError/dns.exception.Timeout when it cannot be reached in time."""
    query = dns.message.make_query(zone, dns.rdatatype.AXFR)
    if key is not None:
        query.use_tsig(key)
    wire = query.to_wire()
    deadline = time.monotonic() + lifetime
    raw = []
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(struct.pack("!H", len(wire)) + wire)
        while True:
            if time.monotonic() > deadline:
                raise dns.exception.Timeout(f"zone transfer longer than {lifetime}s")
            message = _read_message(sock)
            raw.append(message)
            if _closes_transfer(message, first=len(raw) == 1):
                break
    messages, tsig_ctx = [], None
    for number, message in enumerate(raw):
        reply = dns.message.from_wire(message, keyring=query.keyring, request_mac=query.mac,
                                      xfr=True, tsig_ctx=tsig_ctx, multi=True)
        if not query.is_response(reply, xfr_continuation=number > 0):
            raise dns.query.BadResponse
        if reply.rcode() != dns.rcode.NOERROR:
            raise dns.xfr.TransferError(reply.rcode())
        if key is not None and (number == 0 or number == len(raw) - 1) and not reply.had_tsig:
            raise dns.exception.FormError("zone transfer message without its TSIG")
        tsig_ctx = reply.tsig_ctx
        messages.append(reply)
    return messages


def _closes_transfer(wire: bytes, *, first: bool) -> bool:
    """Whether this message ends the transfer: an error answer, or its last answer RR is
    an SOA that is not the opening one."""
    if len(wire) < 12:
        raise dns.exception.FormError("short DNS message")
    qdcount, ancount = struct.unpack_from("!HH", wire, 4)
    if wire[3] & 0x0F != dns.rcode.NOERROR:
        return True
    pos = 12
    for _ in range(qdcount):
        pos = _skip_name(wire, pos) + 4
    last = None
    for _ in range(ancount):
        pos = _skip_name(wire, pos)
        last, _, _, rdlength = struct.unpack_from("!HHIH", wire, pos)
        pos += 10 + rdlength
    return last == dns.rdatatype.SOA and not (first and ancount == 1)


def _skip_name(wire: bytes, pos: int) -> int:
    while True:
        length = wire[pos]
        if length == 0:
            return pos + 1
        if length & 0xC0 == 0xC0:  # compression pointer: the name ends here
            return pos + 2
        pos += 1 + length


def _read_message(sock: socket.socket) -> bytes:
    (length,) = struct.unpack("!H", _read(sock, 2))
    return _read(sock, length)


def _read(sock: socket.socket, count: int) -> bytes:
    data = bytearray()
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError("connection closed before the whole answer")
        data += chunk
    return bytes(data)

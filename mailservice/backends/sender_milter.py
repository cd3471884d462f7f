"""The submission service's From: header check, as a small milter (Sendmail milter
protocol, version 6, spoken by Postfix's smtpd_milters).

Postfix checks the envelope sender against the SASL login itself
(reject_authenticated_sender_login_mismatch over the sender_logins table), but none of
its header checks knows who logged in. This milter gets the login from the
``{auth_authen}`` macro Postfix sends with MAIL FROM, and refuses the message at the end
of its headers when an address of a ``From:`` header is not one the login may use. It
asks the very table Postfix asks (``postmap -q``), so both checks always agree and the
milter needs no database driver or credentials of its own.

Run by the mail host next to Postfix (scripts/localstack.py starts it for the tests):
``python -m mailservice.backends.sender_milter --listen 127.0.0.1:PORT --table REF
--config-dir /etc/postfix``, with ``smtpd_milters = inet:127.0.0.1:PORT`` and
``milter_default_action = tempfail`` on the submission service only: when the milter is
down, submissions wait (451) rather than go out unchecked.
"""

from __future__ import annotations

import argparse
import socketserver
import struct
import subprocess
from email.header import decode_header, make_header
from email.utils import getaddresses

# Protocol constants (libmilter/mfdef.h).
VERSION = 6
SMFIP_NOCONNECT, SMFIP_NOHELO, SMFIP_NORCPT, SMFIP_NOBODY = 0x01, 0x02, 0x08, 0x10
SMFIP_NOUNKNOWN, SMFIP_NODATA = 0x100, 0x200
PROTOCOL = SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NORCPT | SMFIP_NOBODY | SMFIP_NOUNKNOWN | SMFIP_NODATA
CONTINUE, ACCEPT, TEMPFAIL, REPLYCODE = b"c", b"a", b"t", b"y"
# Commands answered with CONTINUE when the MTA sends them anyway.
STAGES = set(b"CHRBUT")


def refusal(login: str, address: str) -> str:
    """The SMTP reply the client sees (one line, no CR/LF of anyone's making)."""
    safe = "".join(ch for ch in address if ch.isprintable())[:200]
    return (f"550 5.7.1 From: header address <{safe}> is not one you may send as "
            f"(logged in as {login})")


def header_addresses(value: str) -> list[str]:
    """The addresses of a From: header, lower-case; [] for none."""
    try:
        value = str(make_header(decode_header(value)))
    except (ValueError, LookupError):
        pass
    return [addr.strip().lower() for _name, addr in getaddresses([value]) if addr.strip()]


class Lookup:
    """sender → logins that may use it, through Postfix's own lookup table."""

    def __init__(self, *, table: str, config_dir: str | None, postmap: str = "postmap"):
        self.argv = [postmap] + (["-c", config_dir] if config_dir else [])
        self.table = table

    def logins(self, sender: str) -> set[str] | None:
        """The logins, set() when the address has none; None when the table can't be read."""
        proc = subprocess.run(self.argv + ["-q", sender, self.table], capture_output=True,
                              text=True, timeout=10, check=False)
        if proc.returncode == 1:
            return set()
        if proc.returncode != 0:
            return None
        return {login.strip().lower() for login in proc.stdout.split(",") if login.strip()}


class MilterHandler(socketserver.BaseRequestHandler):
    lookup: Lookup  # set on the server's handler class

    def handle(self) -> None:
        self.reset()
        while True:
            packet = self.read_packet()
            if packet is None:
                return
            command, data = packet[:1], packet[1:]
            reply = self.dispatch(command, data)
            if reply is False:
                return
            if reply is not None:
                self.send(*reply)

    def reset(self) -> None:
        self.macros: dict[str, str] = {}
        self.verdict: tuple[bytes, bytes] | None = None

    def read_packet(self) -> bytes | None:
        head = self.read_exactly(4)
        if head is None:
            return None
        (length,) = struct.unpack("!I", head)
        if not 1 <= length <= 1 << 20:
            return None
        return self.read_exactly(length)

    def read_exactly(self, size: int) -> bytes | None:
        chunks, left = [], size
        while left:
            chunk = self.request.recv(left)
            if not chunk:
                return None
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def send(self, command: bytes, data: bytes = b"") -> None:
        self.request.sendall(struct.pack("!I", len(data) + 1) + command + data)

    def dispatch(self, command: bytes, data: bytes):
        if command == b"O":
            _version, actions, _protocol = struct.unpack("!III", data[:12])
            return b"O", struct.pack("!III", VERSION, 0, PROTOCOL)
        if command == b"D":  # macros for the next stage: name\0value\0…
            fields = data[1:].split(b"\0")
            for name, value in zip(fields[::2], fields[1::2], strict=False):
                self.macros[name.decode(errors="replace").strip("{}")] = value.decode(errors="replace")
            return None
        if command == b"M":  # a new message on this connection
            self.verdict = None
            return CONTINUE, b""
        if command == b"L":
            name, _, rest = data.partition(b"\0")
            value = rest.rstrip(b"\0").decode("utf-8", errors="replace")
            if name.decode(errors="replace").lower() == "from" and self.verdict is None:
                self.verdict = self.check(header_addresses(value))
            return CONTINUE, b""
        if command == b"N":  # end of headers: the message is judged here
            verdict, self.verdict = self.verdict, None
            return verdict or (CONTINUE, b"")
        if command == b"E":
            return CONTINUE, b""
        if command == b"A":  # abort this message; the connection stays
            self.verdict = None
            return None
        if command == b"K":  # quit, but a new connection follows on this socket
            self.reset()
            return None
        if command == b"Q":
            return False
        if command[0] in STAGES:
            return CONTINUE, b""
        return False

    def check(self, addresses: list[str]) -> tuple[bytes, bytes] | None:
        login = self.macros.get("auth_authen", "").strip().lower()
        if not login:
            # Not logged in: the submission service refuses that before DATA.
            return None
        for address in addresses:
            logins = self.lookup.logins(address)
            if logins is None:
                return TEMPFAIL, b""
            if login not in logins:
                return REPLYCODE, refusal(login, address).encode() + b"\0"
        return None


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(host: str, port: int, lookup: Lookup) -> None:
    handler = type("Handler", (MilterHandler,), {"lookup": lookup})
    with Server((host, port), handler) as server:
        server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", required=True, help="HOST:PORT")
    parser.add_argument("--table", required=True, help="Postfix table of sender logins")
    parser.add_argument("--config-dir", help="Postfix configuration directory (postmap -c)")
    parser.add_argument("--postmap", default="postmap")
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    serve(host, int(port), Lookup(table=args.table, config_dir=args.config_dir, postmap=args.postmap))


if __name__ == "__main__":
    main()

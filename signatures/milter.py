"""The signature milter of the submission service: stamps the sender's active signature
on mail submitted with SMTP AUTH (BACKENDS-2.md §1).

Built on pymilter (libmilter), on a UNIX socket, placed before the DKIM signer in
``smtpd_milters`` so that the signer signs the stamped body, with
``default_action=accept``: when this process is down, mail goes out unstamped rather
than waiting. It reads the data file the worker writes from the desired state
(mailservice/backends/signature_file.py), again whenever the file changes, and never the
database; the stamping itself is the pure ``signatures.stamp.stamp``. Any error while
handling a message lets the message through unchanged (and is logged).

Run by the mail host beside Postfix (scripts/localstack_stamping.py starts it for the
tests): ``python -m signatures.milter --socket /run/mm/signature.sock --data FILE``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import threading

import Milter

from .stamp import Signature, stamp

log = logging.getLogger("signatures.milter")


class Signatures:
    """The data file, read again when its modification time or size changes (the worker
    replaces it whole, so a read never sees half a file)."""

    def __init__(self, path: str):
        self.path = path
        self._seen: tuple[int, int, int] | None = None
        self._data: dict = {}
        self._lock = threading.Lock()

    def get(self, address: str) -> dict | None:
        with self._lock:
            self._reload()
            return self._data.get(address.lower())

    def _reload(self) -> None:
        try:
            status = os.stat(self.path)
        except FileNotFoundError:
            self._seen, self._data = None, {}
            return
        seen = (status.st_mtime_ns, status.st_size, status.st_ino)
        if seen == self._seen:
            return
        try:
            with open(self.path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError) as exc:
            log.error("signature file %s unreadable, keeping the previous one: %s", self.path, exc)
            return
        self._seen, self._data = seen, data if isinstance(data, dict) else {}
        log.info("signature file read: %d addresses", len(self._data))


def signature_for(entry: dict | None) -> tuple[Signature, bool] | None:
    """(signature, on_replies) the entry stamps, None when stamping is off."""
    if not entry or not entry.get("enabled", True):
        return None
    return (Signature(html=str(entry.get("html", "")), text=str(entry.get("text", "")),
                      marker=str(entry.get("marker", "1"))),
            bool(entry.get("on_replies", False)))


class SignatureMilter(Milter.Base):
    signatures: Signatures  # set by main()

    def __init__(self):
        self._reset()

    def _reset(self):
        self.login = None
        self.sender = ""
        self.headers: list[tuple[str, str]] = []
        self.chunks: list[bytes] = []

    @Milter.noreply
    def envfrom(self, mailfrom, *params):
        self._reset()
        self.login = self.getsymval("{auth_authen}")
        self.sender = mailfrom.strip("<>").lower()
        return Milter.CONTINUE

    @Milter.noreply
    def header(self, name, value):
        self.headers.append((name, value))
        return Milter.CONTINUE

    @Milter.noreply
    def body(self, chunk):
        self.chunks.append(chunk)
        return Milter.CONTINUE

    def eom(self):
        try:
            self._stamp()
        except Exception:  # noqa: BLE001 — a message unstamped, never a message lost
            log.exception("stamping failed; the message goes out unchanged")
        return Milter.ACCEPT

    def _stamp(self) -> None:
        # Only authenticated submissions; the sender is bound to the login by Postfix
        # (reject_authenticated_sender_login_mismatch), so a shared address such as
        # contact@ stamps its own (generic) signature whoever logged in.
        if not self.login or not self.sender:
            return
        chosen = signature_for(self.signatures.get(self.sender))
        if chosen is None:
            return
        signature, on_replies = chosen
        raw = message_bytes(self.headers, b"".join(self.chunks))
        outcome = stamp(raw, signature, on_replies=on_replies)
        if not outcome.changed:
            log.info("%s: not stamped (%s)", self.sender, outcome.reason)
            return
        present = {name.lower() for name, _value in self.headers}
        for name, value in outcome.set_headers:
            if name.lower() in present:
                self.chgheader(name, 1, value)
            else:
                self.addheader(name, value)
        for name, value in outcome.add_headers:
            self.addheader(name, value)
        self.replacebody(outcome.body)
        log.info("%s: stamped %s", self.sender, ", ".join(outcome.stamped))


def message_bytes(headers: list[tuple[str, str]], body: bytes) -> bytes:
    """The message as submitted, from what the MTA sent (values without their CRLF)."""
    head = b"".join(f"{name}: {value}".encode("utf-8", "surrogateescape")
                    .replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + b"\r\n"
                    for name, value in headers)
    return head + b"\r\n" + body


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--socket", required=True, help="absolute path of the UNIX socket")
    parser.add_argument("--data", required=True, help="the signature file the worker writes")
    parser.add_argument("--timeout", type=int, default=240)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    SignatureMilter.signatures = Signatures(args.data)
    Milter.factory = SignatureMilter
    Milter.set_flags(Milter.CHGBODY | Milter.CHGHDRS | Milter.ADDHDRS)
    # The socket is 0666: Postfix's user must connect; its folder decides who may.
    os.umask(0o111)
    if os.path.exists(args.socket):  # left by a killed run: libmilter will not bind over it
        os.unlink(args.socket)
    log.info("listening on %s", args.socket)
    Milter.runmilter("mail-manager-signatures", f"unix:{args.socket}", args.timeout)


if __name__ == "__main__":
    main()

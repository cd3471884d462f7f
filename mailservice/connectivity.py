"""Connectivity check of the mail hosts (what the guide does with telnet / nc): TCP connect,
TLS handshake on implicit-TLS ports, banner, and STARTTLS on the submission port, each with
a verdict and a sentence a person can act on. Only hosts from settings are ever tested."""
import re
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

from .clientsetup import HostSettings

OK, WARNING, ERROR = "ok", "warning", "error"
_SEVERITY = {OK: 0, WARNING: 1, ERROR: 2}
DEFAULT_TIMEOUT = 5.0
CERT_EXPIRY_WARNING_DAYS = 14
_MAX_LINE = 1024
_MAX_LINES = 64


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    protocol: str  # "imap" | "smtp"
    tls: str  # "implicit" (993, 465) | "starttls" (587) | "none"
    required: bool = True  # a failure of a fallback port (465) is only a warning


@dataclass(frozen=True)
class CheckResult:
    host: str
    port: int
    protocol: str
    tls: str
    verdict: str
    message: str
    banner: str = ""
    elapsed_ms: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def default_targets(hosts: HostSettings) -> list[Target]:
    return [
        Target(hosts.imap_host, hosts.imap_port, "imap", "implicit"),
        Target(hosts.smtp_host, hosts.smtp_port, "smtp", "starttls"),
        Target(hosts.smtp_host, hosts.smtps_port, "smtp", "implicit", required=False),
    ]


def overall_verdict(results: list[CheckResult]) -> str:
    return max((r.verdict for r in results), key=_SEVERITY.__getitem__, default=OK)


def run_checks(targets: list[Target], *, timeout: float = DEFAULT_TIMEOUT,
               ssl_context: ssl.SSLContext | None = None) -> list[CheckResult]:
    """All targets in parallel, so the whole check takes about one timeout at most."""
    if not targets:
        return []
    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        return list(pool.map(lambda t: check(t, timeout=timeout, ssl_context=ssl_context),
                             targets))


class _Failed(Exception):
    def __init__(self, verdict, message):
        super().__init__(message)
        self.verdict = verdict
        self.message = message


def _printable(text: str, limit: int = 200) -> str:
    text = re.sub(r"[^\x20-\x7e]", "?", text.strip())
    return text if len(text) <= limit else text[:limit] + "…"


def _seconds(timeout: float) -> str:
    return f"{timeout:g} s"


class _Lines:
    """CRLF lines from a socket, never reading past a deadline or a size limit."""

    def __init__(self, sock, deadline: float, port: int):
        self.sock, self.deadline, self.port, self.buffer = sock, deadline, port, b""

    def readline(self) -> str:
        while b"\n" not in self.buffer:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError()
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(_MAX_LINE)
            if not chunk:
                raise _Failed(ERROR, f"Port {self.port} accepted the connection but closed it "
                                     "without answering")
            self.buffer += chunk
            if len(self.buffer) > _MAX_LINE and b"\n" not in self.buffer:
                raise _Failed(WARNING, f"Port {self.port} answered with an over-long line, "
                                       "not like a mail server")
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def smtp_reply(self) -> tuple[str, list[str]]:
        """(code, lines) of a possibly multi-line SMTP reply (`250-…` … `250 …`)."""
        lines = []
        for _ in range(_MAX_LINES):
            line = self.readline()
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return line[:3], lines
        raise _Failed(WARNING, f"Port {self.port} answered with an endless reply")


def _connect(target: Target, timeout: float):
    try:
        return socket.create_connection((target.host, target.port), timeout=timeout)
    except socket.gaierror as exc:
        raise _Failed(ERROR, f"The host name {target.host} could not be resolved") from exc
    except ConnectionRefusedError as exc:
        raise _Failed(ERROR, f"Connection refused on {target.port} ({target.host}): nothing "
                             "listens there, or a firewall rejects it") from exc
    except TimeoutError as exc:
        raise _Failed(ERROR, f"No answer within {_seconds(timeout)} when connecting to "
                             f"{target.host}:{target.port} (a firewall may drop the "
                             "packets)") from exc
    except OSError as exc:
        raise _Failed(ERROR, f"Could not connect to {target.host}:{target.port}: "
                             f"{exc.strerror or exc}") from exc


def _cert_problem(exc: ssl.SSLCertVerificationError, host: str) -> str:
    reason = exc.verify_message or exc.reason or str(exc)
    return f"The TLS certificate of {host} is not trusted: {reason}"


def _tls_wrap(sock, target: Target, context: ssl.SSLContext, deadline: float, timeout: float):
    sock.settimeout(max(deadline - time.monotonic(), 0.001))
    try:
        return context.wrap_socket(sock, server_hostname=target.host)
    except ssl.SSLCertVerificationError as exc:
        raise _Failed(ERROR, _cert_problem(exc, target.host)) from exc
    except ssl.SSLError as exc:
        raise _Failed(ERROR, f"TLS handshake failed on {target.port}: "
                             f"{exc.reason or exc} (does the port really speak TLS?)") from exc
    except TimeoutError as exc:
        raise _Failed(ERROR, f"No answer within {_seconds(timeout)} on {target.port}: the "
                             "port accepted the connection but not the TLS handshake") from exc
    except OSError as exc:
        raise _Failed(ERROR, f"The connection broke during the TLS handshake on {target.port}: "
                             f"{exc.strerror or exc}") from exc


def _tls_note(tls_sock) -> tuple[str, str | None]:
    """(" over TLSv1.3", a warning if the certificate expires soon)."""
    note = f" over {tls_sock.version()}" if tls_sock.version() else ""
    cert = tls_sock.getpeercert() or {}
    if "notAfter" in cert:
        days = (ssl.cert_time_to_seconds(cert["notAfter"]) - time.time()) / 86400
        if days < CERT_EXPIRY_WARNING_DAYS:
            return note, f"its TLS certificate expires in {max(int(days), 0)} day(s)"
    return note, None


def _check_imap(lines: _Lines, target: Target, prefix: str) -> tuple[str, str, str]:
    banner = lines.readline()
    shown = _printable(banner)
    upper = banner.upper()
    if upper.startswith("* OK"):
        return OK, f"{prefix}: {shown}", banner
    if upper.startswith("* PREAUTH"):
        return WARNING, f"{prefix} but logs in without a password: {shown}", banner
    if upper.startswith("* BYE"):
        return ERROR, f"{prefix} but refuses connections: {shown}", banner
    return WARNING, f"{prefix} but not like an IMAP server: {shown}", banner


def _check_smtp(sock, lines: _Lines, target: Target, prefix: str) -> tuple[str, str, str]:
    code, reply = lines.smtp_reply()
    banner = reply[0]
    shown = _printable(banner)
    if code == "554":
        return ERROR, f"{prefix} but refuses connections: {shown}", banner
    if code != "220":
        return WARNING, f"{prefix} but not like an SMTP server: {shown}", banner
    if target.tls != "starttls":
        return OK, f"{prefix}: {shown}", banner
    local = sock.getsockname()[0]
    literal = f"[IPv6:{local}]" if ":" in local else f"[{local}]"
    sock.sendall(f"EHLO {literal}\r\n".encode("ascii"))
    ehlo_code, capabilities = lines.smtp_reply()
    try:
        sock.sendall(b"QUIT\r\n")
    except OSError:
        pass
    if ehlo_code != "250":
        return WARNING, (f"{prefix}: {shown} but refused EHLO: "
                         f"{_printable(capabilities[-1])}"), banner
    offered = {line[4:].strip().split(" ")[0].upper() for line in capabilities[1:]}
    if "STARTTLS" in offered:
        return OK, f"{prefix}: {shown} and offers STARTTLS", banner
    return WARNING, (f"{prefix}: {shown} but does not offer STARTTLS: mail clients set to "
                     "STARTTLS will fail, and passwords would travel unencrypted"), banner


def check(target: Target, *, timeout: float = DEFAULT_TIMEOUT,
          ssl_context: ssl.SSLContext | None = None) -> CheckResult:
    """One host and port. The timeout bounds the whole exchange, not each step."""
    started = time.monotonic()
    deadline = started + timeout
    banner = ""
    sock = None
    try:
        sock = _connect(target, timeout)
        prefix = f"Port {target.port} answered"
        expiry_warning = None
        if target.tls == "implicit":
            sock = _tls_wrap(sock, target, ssl_context or ssl.create_default_context(), deadline,
                             timeout)
            note, expiry_warning = _tls_note(sock)
            prefix += note
        lines = _Lines(sock, deadline, target.port)
        if target.protocol == "imap":
            verdict, message, banner = _check_imap(lines, target, prefix)
            if verdict == OK:
                try:
                    sock.sendall(b"a1 LOGOUT\r\n")
                except OSError:
                    pass
        else:
            verdict, message, banner = _check_smtp(sock, lines, target, prefix)
        if expiry_warning and verdict == OK:
            verdict, message = WARNING, f"{message}; {expiry_warning}"
    except _Failed as failure:
        verdict, message = failure.verdict, failure.message
    except TimeoutError:
        verdict = ERROR
        message = (f"No answer within {_seconds(timeout)} on {target.port}: the port accepted "
                   "the connection but did not answer in time")
    except OSError as exc:
        verdict = ERROR
        message = f"The connection to {target.host}:{target.port} broke: {exc.strerror or exc}"
    finally:
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass
    if verdict == ERROR and not target.required:
        verdict = WARNING
        message += f" (port {target.port} is only a fallback; clients should use the " \
                   "recommended port)"
    return CheckResult(
        host=target.host, port=target.port, protocol=target.protocol, tls=target.tls,
        verdict=verdict, message=message + ("" if message.endswith((".", ")")) else "."),
        banner=_printable(banner), elapsed_ms=int((time.monotonic() - started) * 1000),
    )


def check_configured_hosts(backend_host: str | None = None) -> dict:
    """The default checks of the hosts from settings (of one backend host, if given), with
    the timeout MAIL_CONNECTIVITY_TIMEOUT. Never any host a user typed: no SSRF."""
    from django.conf import settings

    timeout = float(getattr(settings, "MAIL_CONNECTIVITY_TIMEOUT", DEFAULT_TIMEOUT))
    results = run_checks(default_targets(HostSettings.from_django_settings(backend_host)),
                         timeout=timeout)
    return {"verdict": overall_verdict(results), "timeout": timeout,
            "results": [r.as_dict() for r in results]}

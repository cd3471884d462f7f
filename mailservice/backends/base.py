"""The mail backend interface: the desired state of one mail service and the adapter contract.

The control plane pushes the whole desired state of a service (one domain) at a time
and can read back what a backend really serves, so that ``drift()`` can tell whether a
push is needed. Nothing here knows about Django or about a particular mail server.
"""

from __future__ import annotations

import abc
import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class MailboxState:
    email: str
    # A disabled mailbox is kept (its mail and settings survive) but the backend serves
    # nothing for it: SMTP refuses its mail and no login succeeds.
    enabled: bool
    quota_mb: int  # 0 means no limit
    sieve_script: str | None  # None = no active script
    # Only set by MailBackend.actual(): the sha256 (script_sha) of a script the backend
    # holds back for this mailbox (it failed the engine's check, or stopped delivery and
    # was replaced by the previous one). drift() does not count that script as missing:
    # pushing it again cannot help until it changes.
    held_sieve_sha256: str = ""


@dataclass(frozen=True)
class SieveHold:
    """A mailbox whose desired Sieve script the backend does not run, and why."""

    REFUSED = "refused"  # failed the engine's check before activation; never active
    STOPPED_DELIVERY = "stopped_delivery"  # was active, made delivery fail; replaced

    email: str
    sha256: str  # script_sha() of the script held back
    kind: str  # REFUSED or STOPPED_DELIVERY
    reason: str  # the engine's words, for the people who wrote the script
    at: float  # Unix time the backend found it
    # STOPPED_DELIVERY: True when the script active before it runs again, False when the
    # mailbox runs no script (plain delivery to INBOX). REFUSED: the old script stays.
    restored: bool = True


@dataclass(frozen=True)
class ApplyReport:
    """What apply() could not make true: every mailbox of the service held back now."""

    sieve_holds: tuple[SieveHold, ...] = ()


@dataclass(frozen=True)
class DevicePasswordState:
    ref: str  # stable id (uuid str) of the device password
    email: str
    token_sha256: str  # hex sha256 of the plaintext token; the backend never sees the token
    # False for the catchall: IMAP works, SMTP AUTH is refused, so a catch-everything
    # mailbox cannot be used to send as arbitrary addresses.
    can_send: bool


@dataclass(frozen=True)
class ForwardState:
    source: str  # full address
    # To keep a copy in the source mailbox, the source itself is among the targets.
    targets: tuple[str, ...]


@dataclass(frozen=True)
class DkimState:
    """The key the signer signs the domain's mail with (`d=<domain>; s=<selector>`)."""

    selector: str
    # PEM (PKCS#8 or PKCS#1) of the RSA private key; never shown in a repr or a drift line.
    private_key: str = field(repr=False)


@dataclass(frozen=True)
class StampState:
    """The signature the submission service stamps on mail sent as `email` (the milter's
    data file, signature_file.py): its HTML and text, whether stamping is on, whether
    replies and forwards are stamped too."""

    email: str
    html: str = field(repr=False)
    text: str = field(repr=False)
    enabled: bool = True
    on_replies: bool = False


@dataclass(frozen=True)
class ServiceState:
    domain: str
    mailboxes: tuple[MailboxState, ...] = ()
    forwards: tuple[ForwardState, ...] = ()  # aliases and redirections
    device_passwords: tuple[DevicePasswordState, ...] = ()
    catchall: str | None = None  # full address of the catchall mailbox, or None
    dkim: DkimState | None = None  # None: the domain's mail is not signed
    # Synonym domains: mail to local@synonym is routed as local@domain (its mailboxes,
    # aliases and catchall), nothing else is served there.
    synonyms: tuple[str, ...] = ()
    # (sender, login) pairs beyond a mailbox's own address and its aliases: a login may
    # send as another mailbox of the service whose "send" permission its users hold.
    sender_grants: tuple[tuple[str, str], ...] = ()
    # The signatures stamped on the mail the service's addresses submit (one per address).
    stamps: tuple[StampState, ...] = ()
    # Only set by MailBackend.actual(): inconsistencies between the backend's own stores
    # (a hand-edited map file, a missing routing line) that ServiceState cannot express
    # field by field. A desired state leaves it empty, so any fault is a drift.
    faults: tuple[str, ...] = ()


class BackendError(Exception):
    """A backend operation failed.

    ``permanent`` tells a worker whether retrying can help: a missing binary, a bad
    config or an invalid state stays broken; a daemon that is down or slow may recover.
    The message is the backend's own (e.g. a subprocess's stderr), for the operator.
    """

    def __init__(self, message: str, *, permanent: bool):
        super().__init__(message)
        self.message = message
        self.permanent = permanent

    def __str__(self) -> str:
        kind = "permanent" if self.permanent else "transient"
        return f"{self.message} ({kind})"


class MailBackend(abc.ABC):
    """What the control plane needs from a mail backend; all methods may raise BackendError."""

    @abc.abstractmethod
    def apply(self, state: ServiceState) -> ApplyReport:
        """Make the backend serve exactly ``state`` for its domain. Idempotent. A Sieve
        script the engine cannot run is held back for its mailbox only (the mailbox keeps
        its current script, the rest is applied) and listed in the report."""

    @abc.abstractmethod
    def actual(self, domain: str) -> ServiceState:
        """What the backend serves now for ``domain`` (empty state if nothing)."""

    @abc.abstractmethod
    def remove_service(self, domain: str) -> None:
        """Stop serving ``domain`` entirely. Stored mail is kept; deleting it is a separate step."""

    @abc.abstractmethod
    def list_folders(self, email: str) -> list[str]:
        """Folder names of a mailbox, ``/`` separating sub-folders."""

    @abc.abstractmethod
    def create_folder(self, email: str, name: str) -> None:
        """Create (and subscribe) a folder; no error if it exists."""

    @abc.abstractmethod
    def kick(self, email: str) -> None:
        """End the live IMAP/ManageSieve sessions of a mailbox."""

    def check_deliveries(self) -> list[SieveHold]:
        """Find deliveries that failed because of a pushed Sieve script since the last
        call, put the mailbox's previous script back, and let the queued mail through
        again; the mailboxes it did that for (the default finds nothing)."""
        return []

    def purge_mailbox(self, email: str) -> bool:
        """Delete for good the stored mail, Sieve scripts and user data of a mailbox the
        backend no longer serves (a transient error if it still does); True if it had
        stored mail. Idempotent."""
        raise BackendError(f"{type(self).__name__} cannot purge mailboxes", permanent=True)

    def purge_service(self, domain: str, emails: list[str]) -> int:
        """purge_mailbox() for each mailbox of a removed service, then what is left of it."""
        raise BackendError(f"{type(self).__name__} cannot purge services", permanent=True)

    def forget_sieve(self, domain: str) -> None:
        """Drop any record of pushed scripts so the next apply() verifies them (for
        adapters that keep one; the default keeps none)."""
        return None


def drift(desired: ServiceState, actual: ServiceState) -> list[str]:
    """Human-readable differences between two states; empty when they are equal.

    Order-insensitive (mailboxes, forwards, targets and device passwords are compared as
    sets) and case-insensitive for addresses, like the mail servers themselves.
    """
    diffs: list[str] = []
    if desired.domain.lower() != actual.domain.lower():
        diffs.append(f"domain is {actual.domain!r}, want {desired.domain!r}")

    want_boxes = {m.email.lower(): m for m in desired.mailboxes}
    have_boxes = {m.email.lower(): m for m in actual.mailboxes}
    for email in sorted(want_boxes.keys() - have_boxes.keys()):
        diffs.append(f"mailbox {email}: missing")
    for email in sorted(have_boxes.keys() - want_boxes.keys()):
        diffs.append(f"mailbox {email}: unexpected")
    for email in sorted(want_boxes.keys() & have_boxes.keys()):
        want, have = want_boxes[email], have_boxes[email]
        if want.enabled != have.enabled:
            diffs.append(f"mailbox {email}: enabled is {have.enabled}, want {want.enabled}")
        if want.quota_mb != have.quota_mb:
            diffs.append(f"mailbox {email}: quota is {have.quota_mb} MB, want {want.quota_mb} MB")
        held = have.held_sieve_sha256 and script_sha(want.sieve_script) == have.held_sieve_sha256
        if want.sieve_script != have.sieve_script and not held:
            if have.sieve_script is None:
                diffs.append(f"mailbox {email}: sieve script missing")
            elif want.sieve_script is None:
                diffs.append(f"mailbox {email}: unexpected active sieve script")
            else:
                diffs.append(f"mailbox {email}: sieve script differs")

    want_fwd = {f.source.lower(): _targets(f) for f in desired.forwards}
    have_fwd = {f.source.lower(): _targets(f) for f in actual.forwards}
    for source in sorted(want_fwd.keys() - have_fwd.keys()):
        diffs.append(f"forward {source}: missing")
    for source in sorted(have_fwd.keys() - want_fwd.keys()):
        diffs.append(f"forward {source}: unexpected")
    for source in sorted(want_fwd.keys() & have_fwd.keys()):
        if want_fwd[source] != have_fwd[source]:
            have, want = ", ".join(sorted(have_fwd[source])), ", ".join(sorted(want_fwd[source]))
            diffs.append(f"forward {source}: targets are {have}, want {want}")

    want_pw = {p.ref: p for p in desired.device_passwords}
    have_pw = {p.ref: p for p in actual.device_passwords}
    for ref in sorted(want_pw.keys() - have_pw.keys()):
        diffs.append(f"device password {ref} ({want_pw[ref].email.lower()}): missing")
    for ref in sorted(have_pw.keys() - want_pw.keys()):
        diffs.append(f"device password {ref} ({have_pw[ref].email.lower()}): unexpected")
    for ref in sorted(want_pw.keys() & have_pw.keys()):
        want, have = want_pw[ref], have_pw[ref]
        if want.email.lower() != have.email.lower():
            diffs.append(f"device password {ref}: belongs to {have.email}, want {want.email}")
        # The hash is not shown: the message may end up in logs and UIs.
        if want.token_sha256.lower() != have.token_sha256.lower():
            diffs.append(f"device password {ref}: token differs")
        if want.can_send != have.can_send:
            diffs.append(
                f"device password {ref}: can_send is {have.can_send}, want {want.can_send}"
            )

    want_catchall = desired.catchall.lower() if desired.catchall else None
    have_catchall = actual.catchall.lower() if actual.catchall else None
    if want_catchall != have_catchall:
        diffs.append(f"catchall is {have_catchall or 'none'}, want {want_catchall or 'none'}")

    diffs.extend(_dkim_drift(desired.dkim, actual.dkim))
    want_synonyms = {name.lower() for name in desired.synonyms}
    have_synonyms = {name.lower() for name in actual.synonyms}
    diffs.extend(f"synonym {name}: missing" for name in sorted(want_synonyms - have_synonyms))
    diffs.extend(f"synonym {name}: unexpected" for name in sorted(have_synonyms - want_synonyms))
    want_grants = {(s.lower(), login.lower()) for s, login in desired.sender_grants}
    have_grants = {(s.lower(), login.lower()) for s, login in actual.sender_grants}
    for sender, login in sorted(want_grants - have_grants):
        diffs.append(f"sender {sender}: login {login} missing")
    for sender, login in sorted(have_grants - want_grants):
        diffs.append(f"sender {sender}: login {login} unexpected")

    diffs.extend(_stamp_drift(desired.stamps, actual.stamps))
    diffs.extend(f"backend: {fault}" for fault in actual.faults)
    return diffs


def _dkim_drift(want: DkimState | None, have: DkimState | None) -> list[str]:
    if want is None and have is None:
        return []
    if have is None:
        return [f"dkim key {want.selector}: missing"]
    if want is None:
        return [f"dkim key {have.selector}: unexpected"]
    if want.selector != have.selector:
        return [f"dkim selector is {have.selector}, want {want.selector}"]
    if want.private_key.strip() != have.private_key.strip():
        return [f"dkim key {want.selector}: key differs"]
    return []


def _stamp_drift(want: tuple[StampState, ...], have: tuple[StampState, ...]) -> list[str]:
    wanted = {s.email.lower(): s for s in want}
    held = {s.email.lower(): s for s in have}
    diffs = [f"signature of {email}: missing" for email in sorted(wanted.keys() - held.keys())]
    diffs += [f"signature of {email}: unexpected" for email in sorted(held.keys() - wanted.keys())]
    for email in sorted(wanted.keys() & held.keys()):
        a, b = wanted[email], held[email]
        if (a.html, a.text) != (b.html, b.text):
            diffs.append(f"signature of {email}: differs")
        if (a.enabled, a.on_replies) != (b.enabled, b.on_replies):
            diffs.append(f"signature of {email}: stamping is {_switches(b)}, want {_switches(a)}")
    return diffs


def _switches(stamp: StampState) -> str:
    if not stamp.enabled:
        return "off"
    return "on (replies too)" if stamp.on_replies else "on (new messages only)"


def script_sha(script: str | None) -> str:
    """A fingerprint of an active Sieve script; "" for none."""
    return "" if script is None else hashlib.sha256(script.encode()).hexdigest()


def _targets(forward: ForwardState) -> frozenset[str]:
    return frozenset(t.lower() for t in forward.targets)

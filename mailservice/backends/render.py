"""Pure renderers of the Dovecot + Postfix adapter: a ServiceState → the Postfix map
fragments of its domain, the combined tables, and Dovecot's SQL passdb/userdb config.
No I/O here; `postfix_maps.py` writes the maps."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from .base import DevicePasswordState, ForwardState, MailboxState, ServiceState

# Map kinds, each rendered per domain and combined into the one table Postfix reads.
MAP_KINDS = ("domains", "mailboxes", "aliases", "identities", "disabled")
COMBINED_NAMES = {
    "domains": "virtual_domains",  # virtual_mailbox_domains
    "mailboxes": "virtual_mailboxes",  # virtual_mailbox_maps
    "aliases": "virtual_aliases",  # virtual_alias_maps, first table: forwards + catchall
    "identities": "virtual_identities",  # virtual_alias_maps, second table
    "disabled": "disabled_recipients",  # smtpd check_recipient_access
}
DISABLED_REPLY = "550 5.2.1 Mailbox disabled"


DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
# Conservative: map files are whitespace- and comma-separated, '#' starts a comment, and
# doveadm treats '*' and '?' in a user name as wildcards.
LOCAL_RE = re.compile(r"^[^\s@,#\"\\;:<>()\[\]*?]{1,64}$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")



# --- pure rendering -------------------------------------------------------------------


def normalize(state: ServiceState) -> ServiceState:
    """Validate a state and return it with lower-case addresses; raises ValueError."""
    domain = state.domain.strip().lower().rstrip(".")
    if not DOMAIN_RE.match(domain):
        raise ValueError(f"invalid domain {state.domain!r}")

    def own_address(address: str, what: str) -> str:
        address = address.strip().lower()
        local, _, addr_domain = address.rpartition("@")
        if addr_domain != domain or not LOCAL_RE.match(local):
            raise ValueError(f"{what} {address!r} is not an address of {domain}")
        return address

    def any_address(address: str, what: str) -> str:
        address = address.strip().lower()
        local, _, addr_domain = address.rpartition("@")
        if not LOCAL_RE.match(local) or not DOMAIN_RE.match(addr_domain):
            raise ValueError(f"{what} {address!r} is not a valid address")
        return address

    mailboxes: dict[str, MailboxState] = {}
    for box in state.mailboxes:
        email = own_address(box.email, "mailbox")
        if email in mailboxes:
            raise ValueError(f"mailbox {email} listed twice")
        if box.quota_mb < 0:
            raise ValueError(f"mailbox {email}: negative quota")
        mailboxes[email] = replace(box, email=email)

    forwards: dict[str, ForwardState] = {}
    for fwd in state.forwards:
        source = own_address(fwd.source, "forward source")
        if source in forwards:
            raise ValueError(f"forward {source} listed twice")
        targets = tuple(sorted({any_address(t, f"forward {source} target") for t in fwd.targets}))
        if not targets:
            raise ValueError(f"forward {source} has no target")
        forwards[source] = ForwardState(source=source, targets=targets)

    passwords: dict[str, DevicePasswordState] = {}
    for pw in state.device_passwords:
        email = pw.email.strip().lower()
        if email not in mailboxes:
            raise ValueError(f"device password {pw.ref} belongs to unknown mailbox {email}")
        if not pw.ref or pw.ref in passwords:
            raise ValueError(f"device password ref {pw.ref!r} empty or listed twice")
        token = pw.token_sha256.strip().lower()
        if not SHA256_RE.match(token):
            raise ValueError(f"device password {pw.ref}: token_sha256 is not a hex SHA-256")
        passwords[pw.ref] = replace(pw, email=email, token_sha256=token)

    catchall = None
    if state.catchall:
        catchall = own_address(state.catchall, "catchall")
        if catchall not in mailboxes:
            raise ValueError(f"catchall {catchall} is not a mailbox of the service")

    return ServiceState(
        domain=domain,
        mailboxes=tuple(mailboxes[k] for k in sorted(mailboxes)),
        forwards=tuple(forwards[k] for k in sorted(forwards)),
        device_passwords=tuple(passwords[k] for k in sorted(passwords)),
        catchall=catchall,
        dkim=state.dkim,  # checked where it is written (dkim_tables.py)
    )


def render_fragments(state: ServiceState) -> dict[str, str]:
    """Postfix map fragments of one service, by kind (see MAP_KINDS); deterministic."""
    state = normalize(state)
    d = state.domain
    lines: dict[str, list[str]] = {kind: [] for kind in MAP_KINDS}
    lines["domains"].append(f"{d} OK")
    for box in state.mailboxes:
        # Every mailbox maps to itself so that the catchall's "@domain" line, which
        # Postfix tries only after all full-address keys, cannot capture it. A disabled
        # mailbox keeps its identity (mail must be refused, not caught) and is refused
        # at RCPT by the access table, because an alias entry alone counts as "listed".
        lines["identities"].append(f"{box.email} {box.email}")
        if box.enabled:
            lines["mailboxes"].append(f"{box.email} OK")
        else:
            lines["disabled"].append(f"{box.email} {DISABLED_REPLY}")
    for fwd in state.forwards:
        lines["aliases"].append(f"{fwd.source} {', '.join(fwd.targets)}")
    enabled = {box.email for box in state.mailboxes if box.enabled}
    # A disabled catchall catches nothing: unknown addresses are then refused at RCPT
    # instead of being accepted and bounced later.
    if state.catchall and state.catchall in enabled:
        lines["aliases"].append(f"@{d} {state.catchall}")
    header = f"# Mail Manager: {d}. Generated; edits are reverted by the next apply.\n"
    return {kind: header + "".join(line + "\n" for line in lines[kind]) for kind in MAP_KINDS}


def combine_fragments(kind: str, fragments: Mapping[str, str]) -> str:
    """The one table Postfix reads for ``kind``, from all domains' fragments (by domain)."""
    parts = [f"# Mail Manager: {COMBINED_NAMES[kind]}, generated from domains.d/*.{kind}.\n"]
    for domain in sorted(fragments):
        text = fragments[domain]
        parts.append(text if text.endswith("\n") or not text else text + "\n")
    return "".join(parts)


def parse_map(text: str) -> list[tuple[str, str]]:
    """(key, value) entries of a texthash file, comments and blank lines skipped."""
    entries = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(" ") if " " in line else line.partition("\t")
        entries.append((key.lower(), " ".join(value.split())))
    return entries


def entry_domain(kind: str, key: str) -> str:
    """The domain an entry of a map belongs to."""
    return key if kind == "domains" else key.rpartition("@")[2]


def render_dovecot_sql_conf(user_db: Path) -> str:
    """dovecot-sql.conf.ext for the sql passdb and userdb over ``user_db`` (see user_db.SCHEMA).

    The password is checked in the WHERE clause because a user has several device
    passwords and an SQL passdb returning several rows is an error. Postfix's SASL client
    always reports the service as "smtp": a device password with can_send = 0 (the
    catchall's) works for IMAP and ManageSieve but not for SMTP AUTH. Disabled mailboxes
    exist only for doveadm, so the control plane can still manage their Sieve scripts
    and folders while IMAP, ManageSieve and LMTP treat them as unknown.
    """
    password_query = (
        "SELECT NULL AS password, 'Y' AS nopassword, p.ref AS device_ref "
        "FROM device_passwords p JOIN mailboxes m ON m.email = p.email "
        "WHERE p.email = '%Lu' AND p.token_sha256 = '%{sha256:password}' AND m.enabled = 1 "
        "AND (p.can_send = 1 OR '%s' NOT IN ('smtp', 'submission'))"
    )
    user_query = (
        "SELECT email AS user, '*:storage=' || quota_mb || 'M' AS quota_rule "
        "FROM mailboxes WHERE email = '%Lu' AND (enabled = 1 OR '%s' = 'doveadm')"
    )
    iterate_query = "SELECT email AS user FROM mailboxes WHERE enabled = 1"
    return (
        "# Mail Manager: Dovecot sql passdb/userdb. Generated.\n"
        "driver = sqlite\n"
        f"connect = {user_db}\n"
        f"password_query = {password_query}\n"
        f"user_query = {user_query}\n"
        f"iterate_query = {iterate_query}\n"
    )

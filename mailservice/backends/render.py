"""Pure renderers of the Dovecot + Postfix adapter: a ServiceState → the rows of its domain
in Postfix's SQL lookup tables, the lookups' Postfix config, and Dovecot's SQL
passdb/userdb config. No I/O here; `postfix_maps.py` writes the rows."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from .base import DevicePasswordState, ForwardState, MailboxState, ServiceState

# The tables Postfix looks addresses up in, each with its columns (every table but
# "domains" also has a "domain" column naming the service a row belongs to).
MAP_TABLES: dict[str, tuple[str, ...]] = {
    "domains": ("domain",),
    "mailboxes": ("email", "enabled"),  # enabled: 1 or 0
    "aliases": ("source", "target"),  # forwards, one row per target, and the catchall
    "sender_logins": ("sender", "login"),  # the SASL logins that may send as an address
    # Synonym domains of the service, accepted like "domains" (a table of their own so
    # that each row names the service it belongs to).
    "synonyms": ("synonym",),
}
# One service's rows: table -> sorted row tuples.
MapRows = Mapping[str, tuple[tuple, ...]]

DISABLED_REPLY = "550 5.2.1 Mailbox disabled"
# The Postfix lookups over MAP_TABLES. "{targets}" and "{logins}" stand for the driver's
# string aggregate of that column: a key has one result, its values comma-separated, which
# is how Postfix reads several alias targets or logins.
POSTFIX_LOOKUPS = {
    # virtual_mailbox_domains: the services' domains and their synonyms.
    "domains": "SELECT 'OK' WHERE EXISTS (SELECT 1 FROM domains WHERE domain = '%s') "
               "OR EXISTS (SELECT 1 FROM synonyms WHERE synonym = '%s')",
    "mailboxes": "SELECT 'OK' FROM mailboxes WHERE email = '%s' AND enabled = 1",
    # virtual_alias_maps, first table: forwards and the catchall's "@domain" row.
    "aliases": "SELECT {targets} FROM aliases WHERE source = '%s' HAVING count(*) > 0",
    # virtual_alias_maps, second table: every mailbox, disabled ones too, maps to itself.
    "identities": "SELECT email FROM mailboxes WHERE email = '%s'",
    # check_recipient_access
    "disabled": f"SELECT '{DISABLED_REPLY}' FROM mailboxes WHERE email = '%s' AND enabled = 0",
    "sender_logins": "SELECT {logins} FROM sender_logins WHERE sender = '%s' HAVING count(*) > 0",
}


DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
# Conservative: Postfix reads several alias targets comma-separated, config and map files
# are whitespace-separated with '#' comments, and doveadm treats '*' and '?' in a user name
# as wildcards.
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

    synonyms = {name.strip().lower().rstrip(".") for name in state.synonyms}
    for name in sorted(synonyms):
        if not DOMAIN_RE.match(name) or name == domain:
            raise ValueError(f"invalid synonym {name!r} of {domain}")
    grants = set()
    for sender, login in state.sender_grants:
        sender = own_address(sender, "sender grant")
        login = own_address(login, "sender grant login")
        if sender not in mailboxes or login not in mailboxes:
            raise ValueError(f"sender grant {sender} → {login} names an unknown mailbox")
        grants.add((sender, login))
    stamps = {}
    for stamp in state.stamps:
        email = own_address(stamp.email, "signature")
        if email in stamps:
            raise ValueError(f"signature of {email} listed twice")
        stamps[email] = replace(stamp, email=email)

    return ServiceState(
        domain=domain,
        synonyms=tuple(sorted(synonyms)),
        mailboxes=tuple(mailboxes[k] for k in sorted(mailboxes)),
        forwards=tuple(forwards[k] for k in sorted(forwards)),
        device_passwords=tuple(passwords[k] for k in sorted(passwords)),
        catchall=catchall,
        dkim=state.dkim,  # checked where it is written (dkim_tables.py)
        sender_grants=tuple(sorted(grants)),
        stamps=tuple(stamps[k] for k in sorted(stamps)),
    )


def render_map_rows(state: ServiceState) -> MapRows:
    """The rows of one service in each Postfix lookup table (see MAP_TABLES); deterministic."""
    state = normalize(state)
    d = state.domain
    rows: dict[str, set[tuple]] = {table: set() for table in MAP_TABLES}
    rows["domains"].add((d,))
    for box in state.mailboxes:
        # A disabled mailbox keeps its row: the identity lookup then maps it to itself, so
        # the catchall cannot capture it, and the "disabled" lookup refuses it at RCPT
        # (an alias entry alone counts as "listed", so Postfix would accept it).
        rows["mailboxes"].add((box.email, int(box.enabled)))
    enabled = {box.email for box in state.mailboxes if box.enabled}
    mailboxes = {box.email for box in state.mailboxes}
    # The catchall never sends, and nobody sends as it: with no row naming it, Postfix's
    # reject_sender_login_mismatch refuses it as a login and as a sender.
    senders = enabled - {state.catchall}
    for fwd in state.forwards:
        for target in fwd.targets:
            rows["aliases"].add((fwd.source, target))
            # An alias (a source that is no mailbox) lets each of its mailboxes send as it;
            # a redirection does not make its target the owner of the redirected address.
            if fwd.source not in mailboxes and target in senders:
                rows["sender_logins"].add((fwd.source, target))
    for email in senders:
        rows["sender_logins"].add((email, email))
    for sender, login in state.sender_grants:
        if sender in senders and login in senders:
            rows["sender_logins"].add((sender, login))
    # A disabled catchall catches nothing: unknown addresses are then refused at RCPT
    # instead of being accepted and bounced later. Postfix tries "@domain" only after every
    # table has missed the full address, and the identity lookup answers for each mailbox.
    if state.catchall and state.catchall in enabled:
        rows["aliases"].add((f"@{d}", state.catchall))
    _synonym_rows(state, rows)
    return {table: tuple(sorted(found)) for table, found in rows.items()}


def _synonym_rows(state: ServiceState, rows: dict[str, set[tuple]]) -> None:
    """local@synonym is routed as local@domain, one row per address of the service rather
    than one "@synonym → @domain" row: that would be "listed" for every local part, so mail
    to an unknown address would be accepted and bounced later instead of refused at RCPT.
    A disabled mailbox gets a disabled row of its own, refused at RCPT as at the main
    domain; the catchall's "@synonym" row comes last in Postfix's order, like "@domain"."""
    sources = {box.email for box in state.mailboxes if box.enabled}
    sources |= {fwd.source for fwd in state.forwards}
    disabled = {box.email for box in state.mailboxes if not box.enabled}
    enabled = {box.email for box in state.mailboxes if box.enabled}
    for synonym in state.synonyms:
        rows["synonyms"].add((synonym,))
        for source in sources:
            local = source.rpartition("@")[0]
            rows["aliases"].add((f"{local}@{synonym}", source))
        for email in disabled:
            rows["mailboxes"].add((f"{email.rpartition('@')[0]}@{synonym}", 0))
        if state.catchall and state.catchall in enabled:
            rows["aliases"].add((f"@{synonym}", state.catchall))


def map_faults(want: MapRows, have: MapRows) -> list[str]:
    """Rows the lookup tables have that the service's record does not render to, and the
    reverse; for drift() (a hand-edited table, a half-written push)."""
    faults = []
    for table in MAP_TABLES:
        wanted, found = set(want.get(table, ())), set(have.get(table, ()))
        for row in sorted(found - wanted):
            faults.append(f"{table}: unexpected row {_show(table, row)!r}")
        for row in sorted(wanted - found):
            faults.append(f"{table}: missing row {_show(table, row)!r}")
    return faults


def _show(table: str, row: tuple) -> str:
    if table == "mailboxes":
        return f"{row[0]} {'enabled' if row[1] else 'disabled'}"
    return " ".join(str(value) for value in row)


def render_postfix_lookup(name: str, *, driver: str, connection: Mapping[str, str]) -> str:
    """A Postfix sqlite_table(5) / pgsql_table(5) file for one of POSTFIX_LOOKUPS.

    ``connection`` holds the driver's own settings: ``dbpath`` for sqlite; ``hosts``,
    ``user``, ``password``, ``dbname`` for pgsql."""
    aggregate = "group_concat({}, ',')" if driver == "sqlite" else "string_agg({}, ',')"
    query = POSTFIX_LOOKUPS[name].format(
        targets=aggregate.format("target"), logins=aggregate.format("login")
    )
    lines = [f"# Mail Manager: Postfix {name} lookup ({driver}). Generated."]
    lines += [f"{key} = {value}" for key, value in connection.items()]
    lines.append(f"query = {query}")
    return "\n".join(lines) + "\n"


def render_postfix_map_settings(tables: Mapping[str, str],
                                recipient_checks: tuple[str, ...] = ()) -> str:
    """The main.cf lines that use the lookups; ``tables`` = name → Postfix table reference
    (e.g. ``proxy:pgsql:/srv/maps/postfix-aliases.cf``). ``recipient_checks`` follow the
    disabled-address check at RCPT (main.cf may set a parameter once)."""
    restrictions = ", ".join((f"check_recipient_access {tables['disabled']}", *recipient_checks))
    return (
        f"virtual_mailbox_domains = {tables['domains']}\n"
        f"virtual_mailbox_maps = {tables['mailboxes']}\n"
        "# Full-address keys are searched in both tables before the catchall's \"@domain\".\n"
        f"virtual_alias_maps = {tables['aliases']}, {tables['identities']}\n"
        f"smtpd_recipient_restrictions = {restrictions}\n"
        "# Which SASL logins may use an envelope sender (enforced by reject_sender_login_mismatch).\n"
        f"smtpd_sender_login_maps = {tables['sender_logins']}\n"
    )


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

"""Dovecot + Postfix adapter: SQL lookup tables route mail, a SQLite database feeds Dovecot's auth.

Layout (all under ``DovecotPostfixConfig``):

* Postfix's lookup tables: the rows of each served domain, rendered by the pure
  ``render.render_map_rows()``, in ``maps_dir/maps.sqlite3`` or the host's PostgreSQL
  (``postfix_maps.py``), read by Postfix through ``maps_dir/postfix-<name>.cf``; a change is
  effective at the next SMTP command, only a new domain reloads Postfix
  (``postfix_reload.py``);
* ``user_db``: SQLite, read by Dovecot's sql passdb/userdb (``render.render_dovecot_sql_conf()``)
  and holding the record of each service (``user_db.py``);
* Sieve scripts live in each mailbox's home and are managed with ``doveadm sieve``
  (``sieve_store.py``), which runs each new one in the engine before activating it and
  puts the previous one back when Dovecot's log (``dovecot_log``) shows it stopped
  delivery; ``tools.py`` runs doveadm, postfix and postqueue.

Every write is idempotent: an apply with an unchanged state writes nothing and does not
reload Postfix.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from dataclasses import replace

from .base import ApplyReport, BackendError, MailBackend, ServiceState, SieveHold
from .config import DovecotPostfixConfig
from .dkim_tables import DkimTables
from .inboxes import Inboxes
from .postfix_maps import open_maps
from .postfix_reload import PostfixReload
from .purge import MailboxPurge
from .quota import QuotaUsage, parse_quota_report
from .render import DOMAIN_RE, MapRows, normalize, render_map_rows
from .sieve_store import SieveStore
from .signature_file import SignatureFile
from .tools import Tools, doveadm_user, is_transient
from .user_db import UserDatabase

__all__ = ["DovecotPostfixBackend", "DovecotPostfixConfig"]


class DovecotPostfixBackend(MailBackend):
    """A running Dovecot + Postfix pair configured for this adapter (see scripts/localstack.py)."""

    def __init__(self, config: DovecotPostfixConfig, *, email_type_header: str = "X-Mail-Type"):
        self.config = config
        self.tools = Tools(config)
        self.user_db = UserDatabase(config)
        self.sieve = SieveStore(self.user_db, self.tools, email_type_header=email_type_header)
        self.maps = open_maps(config)
        self.postfix_reload = PostfixReload(config, self.tools)
        self.purge = MailboxPurge(self.user_db, self.tools)
        self.inboxes = Inboxes(self.tools, self.purge)
        self.dkim = DkimTables(config)
        self.signatures = SignatureFile(config)

    # storage ------------------------------------------------------------------------

    def ensure_storage(self) -> None:
        """Create the lookup tables, their Postfix configs and the user database if absent."""
        self.maps.ensure()
        self.user_db.ensure()

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """Serialise writers (several workers may push different domains at once)."""
        self.config.maps_dir.mkdir(parents=True, exist_ok=True)
        with open(self.config.maps_dir / ".lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # MailBackend --------------------------------------------------------------------

    def apply(self, state: ServiceState) -> ApplyReport:
        try:
            state = normalize(state)
        except ValueError as exc:
            raise BackendError(f"invalid service state: {exc}", permanent=True) from exc
        with self._lock():
            self.ensure_storage()
            to_kick = self.user_db.write_records(state)
            holds = self.sieve.sync(state)
            # Before Postfix routes to them: a first delivery never has to make an INBOX.
            self.inboxes.ensure(box.email for box in state.mailboxes if box.enabled)
            self._route(state.domain, render_map_rows(state))
            for email in sorted(to_kick):
                self.kick(email)
            # Last: a host without a signer or a signature milter fails the push visibly,
            # mail served all the same.
            self.signatures.write(state.domain, state.stamps)
            self.dkim.write(state.domain, state.dkim)
        return ApplyReport(sieve_holds=holds)

    def actual(self, domain: str) -> ServiceState:
        domain = domain.strip().lower().rstrip(".")
        with self._lock():
            self.ensure_storage()
            recorded, served = self.user_db.read_records(domain)
            scripts = self.sieve.active([box.email for box in recorded.mailboxes])
            held = self.sieve.held(domain)
            mailboxes = tuple(
                replace(box, sieve_script=scripts[box.email],
                        held_sieve_sha256=held[box.email].sha256 if box.email in held else "")
                for box in recorded.mailboxes
            )
            # The synonyms are recorded in the maps alone: their rows must agree with them.
            synonyms = tuple(row[0] for row in self.maps.read_domain(domain)["synonyms"])
            recorded = replace(recorded, synonyms=synonyms)
            faults = self.maps.faults(render_map_rows(recorded) if served else None, domain)
            if self.postfix_reload.pending():
                faults.append("postfix: a reload for a new domain is still due")
            dkim = self.dkim.read(domain)
            stamps = self.signatures.read(domain)
        return replace(recorded, mailboxes=mailboxes, faults=tuple(faults), dkim=dkim,
                       stamps=stamps)

    def remove_service(self, domain: str) -> None:
        domain = domain.strip().lower().rstrip(".")
        with self._lock():
            self.ensure_storage()
            # Routing first, so no mail is accepted for users about to disappear.
            self._route(domain, None)
            emails = self.user_db.remove_service(domain)
            self.dkim.remove(domain)
            self.signatures.remove(domain)
            for email in emails:
                self.kick(email)

    def _route(self, domain: str, rows: MapRows | None) -> None:
        """Write the domain's lookup rows; reload Postfix (and wait) only for a new domain (a
        new synonym is one too)."""
        names = [domain, *(row[0] for row in (rows or {}).get("synonyms", ()))]
        new_domain = rows is not None and not all(self.maps.serves(name) for name in names)
        if new_domain:
            self.postfix_reload.request()
        self.maps.write_domain(domain, rows)
        if new_domain:
            self.postfix_reload.committed()
        self.postfix_reload.run_if_pending()

    def list_folders(self, email: str) -> list[str]:
        out = self.tools.doveadm("mailbox", "list", "-u", doveadm_user(email)).stdout
        return [line for line in out.splitlines() if line]

    def create_folder(self, email: str, name: str) -> None:
        # "--": a folder name may start with "-".
        proc = self.tools.doveadm(
            "mailbox", "create", "-s", "-u", doveadm_user(email), "--", name, ok_codes=None
        )
        if proc.returncode != 0 and "already exists" not in proc.stderr:
            message = proc.stderr.strip() or f"exit status {proc.returncode}"
            raise BackendError(
                f"create folder {name!r}: {message}",
                permanent=not is_transient(proc.returncode, message),
            )

    def kick(self, email: str) -> None:
        self.tools.kick(email)

    def check_deliveries(self) -> list[SieveHold]:
        with self._lock():
            self.ensure_storage()
            return self.sieve.check_deliveries()

    def forget_sieve(self, domain: str) -> None:
        """Make the next apply() read the domain's active scripts from Dovecot again (the
        reconcile calls it when scripts drifted, e.g. a file removed by hand)."""
        domain = domain.strip().lower().rstrip(".")
        with self._lock():
            self.sieve.forget(domain)

    def domains(self) -> list[str]:
        """Domains this backend has a service record for (for a periodic reconcile)."""
        self.ensure_storage()
        return self.user_db.domains()

    def purge_mailbox(self, email: str) -> bool:
        """Delete a mailbox's mail home (mail, Sieve scripts) and user database rows, once
        it is no longer served; True if there was a home to delete. Idempotent."""
        with self._lock():
            self.ensure_storage()
            return self.purge.mailbox(email)

    def purge_service(self, domain: str, emails: list[str]) -> int:
        """purge_mailbox() for each of a removed service's mailboxes, then its rows."""
        with self._lock():
            self.ensure_storage()
            return self.purge.service(domain, emails)

    def quota_usage(self, domain: str) -> dict[str, QuotaUsage]:
        """Used space and limit of each mailbox of ``domain``, as Dovecot's quota plugin
        counts them ({address: usage}); a mailbox Dovecot cannot report is left out."""
        domain = domain.strip().lower().rstrip(".")
        # "*" and "?" are doveadm's user wildcards: only a real domain goes into the mask.
        if not DOMAIN_RE.match(domain):
            raise BackendError(f"invalid domain {domain!r}", permanent=True)
        self.ensure_storage()
        recorded, _served = self.user_db.read_records(domain)
        # The mask lists the users of the userdb's iterate_query, which leaves disabled
        # mailboxes out (their mail is kept and counted): those are asked for one by one.
        usage = parse_quota_report(self.tools.doveadm_json("quota", "get", "-u", f"*@{domain}"))
        for box in recorded.mailboxes:
            if box.email in usage or box.enabled:
                continue
            try:
                rows = self.tools.doveadm_json("quota", "get", "-u", doveadm_user(box.email))
            except BackendError as exc:
                if not exc.permanent:
                    raise
                continue  # removed meanwhile: nothing to report
            usage.update(parse_quota_report(rows, user=box.email))
        wanted = {box.email for box in recorded.mailboxes}
        return {email: figures for email, figures in usage.items() if email in wanted}

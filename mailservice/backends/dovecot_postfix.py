"""Dovecot + Postfix adapter: Postfix maps route mail, a SQLite database feeds Dovecot's auth.

Layout on disk (all under ``DovecotPostfixConfig``):

* ``maps_dir/domains.d/<domain>.<kind>``: one fragment per served domain and map kind,
  rendered by the pure ``render.render_fragments()``;
* ``maps_dir/<combined name>``: the texthash tables Postfix reads, regenerated from all
  fragments (Postfix needs one file per table, the control plane thinks per domain);
* ``user_db``: SQLite, read by Dovecot's sql passdb/userdb (``render.render_dovecot_sql_conf()``)
  and holding the record of each service (``SCHEMA``);
* Sieve scripts live in each mailbox's home and are managed with ``doveadm sieve``.

Every write is idempotent: an apply with an unchanged state writes nothing and does not
reload Postfix.
"""

from __future__ import annotations

import contextlib
import fcntl
import grp
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from .base import (
    BackendError,
    DevicePasswordState,
    ForwardState,
    MailBackend,
    MailboxState,
    ServiceState,
)
from .render import (
    COMBINED_NAMES,
    DOMAIN_RE,
    LOCAL_RE,
    MAP_KINDS,
    combine_fragments,
    entry_domain,
    normalize,
    parse_map,
    render_fragments,
)

# Name of the Sieve script the control plane owns in every mailbox.
SIEVE_SCRIPT_NAME = "mailmanager"

SCHEMA_VERSION = 2
SCHEMA = """
CREATE TABLE IF NOT EXISTS services (
    domain TEXT PRIMARY KEY,
    catchall TEXT
);
CREATE TABLE IF NOT EXISTS mailboxes (
    email TEXT PRIMARY KEY,
    domain TEXT NOT NULL,
    quota_mb INTEGER NOT NULL DEFAULT 0,
    enabled INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS mailboxes_domain ON mailboxes (domain);
CREATE TABLE IF NOT EXISTS forwards (
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    domain TEXT NOT NULL,
    PRIMARY KEY (source, target)
);
CREATE INDEX IF NOT EXISTS forwards_domain ON forwards (domain);
CREATE TABLE IF NOT EXISTS device_passwords (
    ref TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    domain TEXT NOT NULL,
    token_sha256 TEXT NOT NULL,
    can_send INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS device_passwords_login ON device_passwords (email, token_sha256);
CREATE INDEX IF NOT EXISTS device_passwords_domain ON device_passwords (domain);
-- What apply() last made the active Sieve script of each mailbox ("" = none). Lets a
-- push skip asking doveadm about 10,000 unchanged mailboxes; a mailbox without a row
-- is read from Dovecot. forget_sieve() drops rows so the next apply verifies them.
CREATE TABLE IF NOT EXISTS sieve_pushed (
    email TEXT PRIMARY KEY,
    domain TEXT NOT NULL,
    sha256 TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sieve_pushed_domain ON sieve_pushed (domain);
"""

def _script_sha(script: str | None) -> str:
    """A fingerprint of an active Sieve script; "" for none."""
    return "" if script is None else hashlib.sha256(script.encode()).hexdigest()


@dataclass(frozen=True)
class DovecotPostfixConfig:
    dovecot_conf: Path  # absolute; every doveadm/sievec call gets it with -c
    postfix_dir: Path  # absolute Postfix config directory (postfix -c)
    user_db: Path  # SQLite file read by Dovecot's sql passdb/userdb
    maps_dir: Path  # Postfix map fragments and combined tables
    # Group given read access to user_db: Dovecot's auth process runs unprivileged (its
    # auth-worker, which runs the SQL lookups by default, is root).
    db_group: str | None = "dovecot"
    # Found on PATH, then in /usr/sbin and /usr/bin (a worker's PATH may lack sbin).
    doveadm: str = "doveadm"
    postfix: str = "postfix"
    sievec: str = "sievec"
    timeout: float = 30.0

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> DovecotPostfixConfig:
        """From settings or a local stack's stack.json (which has these keys and more)."""
        paths = {
            name: Path(str(data[name]))
            for name in ("dovecot_conf", "postfix_dir", "user_db", "maps_dir")
        }
        optional = {
            name: data[name]
            for name in ("db_group", "doveadm", "postfix", "sievec", "timeout")
            if name in data
        }
        return cls(**paths, **optional)

    @property
    def fragments_dir(self) -> Path:
        return self.maps_dir / "domains.d"

    def combined_map(self, kind: str) -> Path:
        return self.maps_dir / COMBINED_NAMES[kind]


class DovecotPostfixBackend(MailBackend):
    """A running Dovecot + Postfix pair configured for this adapter (see scripts/localstack.py)."""

    def __init__(self, config: DovecotPostfixConfig):
        self.config = config

    # storage ------------------------------------------------------------------------

    def ensure_storage(self) -> None:
        """Create the maps directory, empty tables and the user database if absent."""
        cfg = self.config
        cfg.fragments_dir.mkdir(parents=True, exist_ok=True)
        for kind in MAP_KINDS:
            path = cfg.combined_map(kind)
            if not path.exists():
                _write_atomic(path, combine_fragments(kind, {}))
        cfg.user_db.parent.mkdir(parents=True, exist_ok=True)
        new = not cfg.user_db.exists()
        with self._db() as db:
            if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                db.executescript(SCHEMA)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        if new:
            os.chmod(cfg.user_db, 0o640)
            if cfg.db_group:
                with contextlib.suppress(KeyError):
                    os.chown(cfg.user_db, -1, grp.getgrnam(cfg.db_group).gr_gid)

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(self.config.user_db, timeout=10, isolation_level=None)
        except sqlite3.Error as exc:
            raise BackendError(
                f"user database {self.config.user_db}: {exc}", permanent=True
            ) from exc
        try:
            yield db
        except sqlite3.OperationalError as exc:
            # "database is locked" and friends: another writer, try again later.
            raise BackendError(f"user database: {exc}", permanent=False) from exc
        except sqlite3.DatabaseError as exc:
            raise BackendError(f"user database: {exc}", permanent=True) from exc
        finally:
            db.close()

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

    def apply(self, state: ServiceState) -> None:
        try:
            state = normalize(state)
        except ValueError as exc:
            raise BackendError(f"invalid service state: {exc}", permanent=True) from exc
        with self._lock():
            self.ensure_storage()
            to_kick = self._write_records(state)
            self._sync_sieve(state)
            self._write_fragments(state.domain, render_fragments(state))
            self._sync_combined_maps()
            for email in sorted(to_kick):
                self.kick(email)

    def actual(self, domain: str) -> ServiceState:
        domain = domain.strip().lower().rstrip(".")
        with self._lock():
            self.ensure_storage()
            recorded, served = self._read_records(domain)
            scripts = self._active_sieves([box.email for box in recorded.mailboxes])
            mailboxes = tuple(
                replace(box, sieve_script=scripts[box.email]) for box in recorded.mailboxes
            )
            faults = self._map_faults(recorded if served else None, domain)
        return replace(recorded, mailboxes=mailboxes, faults=tuple(faults))

    def remove_service(self, domain: str) -> None:
        domain = domain.strip().lower().rstrip(".")
        with self._lock():
            self.ensure_storage()
            # Routing first, so no mail is accepted for users about to disappear.
            self._write_fragments(domain, None)
            self._sync_combined_maps()
            with self._db() as db:
                emails = [
                    r[0]
                    for r in db.execute("SELECT email FROM mailboxes WHERE domain = ?", (domain,))
                ]
                db.execute("BEGIN IMMEDIATE")
                for table in ("device_passwords", "forwards", "mailboxes", "services",
                              "sieve_pushed"):
                    db.execute(f"DELETE FROM {table} WHERE domain = ?", (domain,))
                db.execute("COMMIT")
            for email in emails:
                self.kick(email)

    def list_folders(self, email: str) -> list[str]:
        out = self._doveadm("mailbox", "list", "-u", _user(email)).stdout
        return [line for line in out.splitlines() if line]

    def create_folder(self, email: str, name: str) -> None:
        # "--": a folder name may start with "-".
        proc = self._doveadm(
            "mailbox", "create", "-s", "-u", _user(email), "--", name, ok_codes=None
        )
        if proc.returncode != 0 and "already exists" not in proc.stderr:
            message = proc.stderr.strip() or f"exit status {proc.returncode}"
            raise BackendError(
                f"create folder {name!r}: {message}",
                permanent=not _is_transient(proc.returncode, message),
            )

    def kick(self, email: str) -> None:
        # doveadm kick answers "no users kicked" with status 68: not an error.
        self._doveadm("kick", _user(email), ok_codes=(0, 68))

    def domains(self) -> list[str]:
        """Domains this backend has a service record for (for a periodic reconcile)."""
        self.ensure_storage()
        with self._db() as db:
            return [r[0] for r in db.execute("SELECT domain FROM services ORDER BY domain")]

    # records (SQLite) ---------------------------------------------------------------

    def _read_records(self, domain: str) -> tuple[ServiceState, bool]:
        """The recorded state of a domain (sieve scripts left None) and whether it is served."""
        with self._db() as db:
            row = db.execute("SELECT catchall FROM services WHERE domain = ?", (domain,)).fetchone()
            boxes = tuple(
                MailboxState(email=e, enabled=bool(en), quota_mb=q, sieve_script=None)
                for e, q, en in db.execute(
                    "SELECT email, quota_mb, enabled FROM mailboxes WHERE domain = ? ORDER BY email",
                    (domain,),
                )
            )
            targets: dict[str, list[str]] = {}
            for source, target in db.execute(
                "SELECT source, target FROM forwards WHERE domain = ? ORDER BY source, target",
                (domain,),
            ):
                targets.setdefault(source, []).append(target)
            passwords = tuple(
                DevicePasswordState(ref=r, email=e, token_sha256=t, can_send=bool(s))
                for r, e, t, s in db.execute(
                    "SELECT ref, email, token_sha256, can_send FROM device_passwords "
                    "WHERE domain = ? ORDER BY ref",
                    (domain,),
                )
            )
        state = ServiceState(
            domain=domain,
            mailboxes=boxes,
            forwards=tuple(ForwardState(source=s, targets=tuple(t)) for s, t in targets.items()),
            device_passwords=passwords,
            catchall=row[0] if row else None,
        )
        return state, row is not None

    def _write_records(self, state: ServiceState) -> set[str]:
        """Upsert the service's rows in one transaction; returns users to kick."""
        d = state.domain
        current, served = self._read_records(d)
        to_kick: set[str] = set()
        have_boxes = {b.email: b for b in current.mailboxes}
        want_boxes = {b.email: b for b in state.mailboxes}
        have_pw = {p.ref: p for p in current.device_passwords}
        want_pw = {p.ref: p for p in state.device_passwords}
        have_fwd = {(f.source, t) for f in current.forwards for t in f.targets}
        want_fwd = {(f.source, t) for f in state.forwards for t in f.targets}
        statements: list[tuple[str, tuple]] = []
        if not served or current.catchall != state.catchall:
            statements.append(
                (
                    "INSERT INTO services (domain, catchall) VALUES (?, ?) "
                    "ON CONFLICT (domain) DO UPDATE SET catchall = excluded.catchall",
                    (d, state.catchall),
                )
            )
        for email, box in want_boxes.items():
            old = have_boxes.get(email)
            if old is None or (old.enabled, old.quota_mb) != (box.enabled, box.quota_mb):
                statements.append(
                    (
                        "INSERT INTO mailboxes (email, domain, quota_mb, enabled) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (email) DO UPDATE SET domain = excluded.domain, "
                        "quota_mb = excluded.quota_mb, enabled = excluded.enabled",
                        (email, d, box.quota_mb, int(box.enabled)),
                    )
                )
                if old is not None and old.enabled and not box.enabled:
                    to_kick.add(email)
        for email in have_boxes.keys() - want_boxes.keys():
            statements.append(("DELETE FROM mailboxes WHERE email = ?", (email,)))
            to_kick.add(email)
        for ref, pw in want_pw.items():
            old = have_pw.get(ref)
            if old != pw:
                statements.append(
                    (
                        "INSERT INTO device_passwords (ref, email, domain, token_sha256, can_send) "
                        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (ref) DO UPDATE SET "
                        "email = excluded.email, domain = excluded.domain, "
                        "token_sha256 = excluded.token_sha256, can_send = excluded.can_send",
                        (ref, pw.email, d, pw.token_sha256, int(pw.can_send)),
                    )
                )
                if old is not None:
                    to_kick.add(old.email)
        for ref in have_pw.keys() - want_pw.keys():
            statements.append(("DELETE FROM device_passwords WHERE ref = ?", (ref,)))
            # Dovecot 2.3 can only end all sessions of a user; the other devices log in again.
            to_kick.add(have_pw[ref].email)
        for source, target in sorted(have_fwd - want_fwd):
            statements.append(
                ("DELETE FROM forwards WHERE source = ? AND target = ?", (source, target))
            )
        for source, target in sorted(want_fwd - have_fwd):
            statements.append(
                (
                    "INSERT INTO forwards (source, target, domain) VALUES (?, ?, ?)",
                    (source, target, d),
                )
            )
        if statements:
            with self._db() as db:
                db.execute("BEGIN IMMEDIATE")
                try:
                    for sql, params in statements:
                        db.execute(sql, params)
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
        return to_kick

    # Sieve (doveadm) ----------------------------------------------------------------

    def _active_sieves(self, emails: Sequence[str]) -> dict[str, str | None]:
        """The active Sieve script of each mailbox, in two doveadm calls for any number."""
        scripts: dict[str, str | None] = dict.fromkeys(emails)
        if not emails:
            return scripts
        with tempfile.TemporaryDirectory(prefix="mm-doveadm-") as tmp:
            users = Path(tmp) / "users"
            users.write_text("".join(f"{e}\n" for e in emails))
            listing = self._doveadm_json("sieve", "list", "-F", str(users))
            active: dict[str, list[str]] = {}
            for row in listing:
                if row.get("active") == "ACTIVE" and row.get("username") in scripts:
                    active.setdefault(row["script"], []).append(row["username"])
            for name, owners in active.items():
                users.write_text("".join(f"{e}\n" for e in owners))
                for row in self._doveadm_json("sieve", "get", "-F", str(users), name):
                    if row.get("username") in scripts:
                        scripts[row["username"]] = row.get("sieve script", "")
        return scripts

    def _sync_sieve(self, state: ServiceState) -> None:
        emails = [box.email for box in state.mailboxes]
        with self._db() as db:
            recorded = dict(db.execute(
                "SELECT email, sha256 FROM sieve_pushed WHERE domain = ?", (state.domain,)))
        current = {e: recorded[e] for e in emails if e in recorded}
        unknown = [e for e in emails if e not in recorded]
        if unknown:
            current.update((e, _script_sha(s)) for e, s in self._active_sieves(unknown).items())
        settled: list[tuple[str, str]] = [(e, current[e]) for e in unknown]
        for box in state.mailboxes:
            want = _script_sha(box.sieve_script)
            if current[box.email] == want:
                continue
            # The control plane owns the active script: one the user uploaded over
            # ManageSieve is replaced (or deactivated when the state has none).
            if box.sieve_script is None:
                self._doveadm("sieve", "deactivate", "-u", box.email)
                self._doveadm(
                    "sieve", "delete", "-u", box.email, SIEVE_SCRIPT_NAME, ok_codes=(0, 68)
                )
            else:
                # -a activates it; doveadm compiles first, so an invalid script fails
                # here and the old one stays active.
                self._doveadm(
                    "sieve", "put", "-a", "-u", box.email, SIEVE_SCRIPT_NAME, input=box.sieve_script
                )
            settled.append((box.email, want))
        if settled:
            with self._db() as db:
                db.execute("BEGIN IMMEDIATE")
                db.executemany(
                    "INSERT INTO sieve_pushed (email, domain, sha256) VALUES (?, ?, ?) "
                    "ON CONFLICT (email) DO UPDATE SET sha256 = excluded.sha256, "
                    "domain = excluded.domain",
                    [(e, state.domain, sha) for e, sha in settled],
                )
                db.execute("COMMIT")

    def forget_sieve(self, domain: str) -> None:
        """Make the next apply() read the domain's active scripts from Dovecot again (the
        reconcile calls it when scripts drifted, e.g. a file removed by hand)."""
        domain = domain.strip().lower().rstrip(".")
        with self._lock(), self._db() as db:
            db.execute("DELETE FROM sieve_pushed WHERE domain = ?", (domain,))

    # maps (Postfix) -----------------------------------------------------------------

    def _fragment_path(self, domain: str, kind: str) -> Path:
        return self.config.fragments_dir / f"{domain}.{kind}"

    def _write_fragments(self, domain: str, fragments: Mapping[str, str] | None) -> None:
        for kind in MAP_KINDS:
            path = self._fragment_path(domain, kind)
            if fragments is None:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            elif _read(path) != fragments[kind]:
                _write_atomic(path, fragments[kind])

    def _all_fragments(self, kind: str) -> dict[str, str]:
        suffix = f".{kind}"
        return {
            p.name[: -len(suffix)]: p.read_text()
            for p in self.config.fragments_dir.glob(f"*{suffix}")
            if not p.name.startswith(".")
        }

    def _sync_combined_maps(self) -> None:
        changed = False
        for kind in MAP_KINDS:
            path = self.config.combined_map(kind)
            text = combine_fragments(kind, self._all_fragments(kind))
            if _read(path) != text:
                _write_atomic(path, text)
                changed = True
        # A failed reload leaves a marker so that the next apply retries it even though
        # the files are then already up to date.
        pending = self.config.maps_dir / ".reload-pending"
        if changed or pending.exists():
            pending.touch()
            self._run([self.config.postfix, "-c", str(self.config.postfix_dir), "reload"])
            pending.unlink()

    def _map_faults(self, recorded: ServiceState | None, domain: str) -> list[str]:
        """Where the map files disagree with what the record of ``domain`` renders to."""
        expected = render_fragments(recorded) if recorded is not None else {}
        faults = []
        for kind in MAP_KINDS:
            want = sorted(parse_map(expected.get(kind, "")))
            fragment = self._fragment_path(domain, kind)
            sources = {
                f"domains.d/{fragment.name}": parse_map(_read(fragment) or ""),
                COMBINED_NAMES[kind]: [
                    entry
                    for entry in parse_map(_read(self.config.combined_map(kind)) or "")
                    if entry_domain(kind, entry[0]) == domain
                ],
            }
            for name, entries in sources.items():
                have = sorted(entries)
                for key, value in sorted(set(have) - set(want)):
                    faults.append(f"{name}: unexpected line {f'{key} {value}'.strip()!r}")
                for key, value in sorted(set(want) - set(have)):
                    faults.append(f"{name}: missing line {f'{key} {value}'.strip()!r}")
                if len(have) != len(set(have)):
                    faults.append(f"{name}: duplicate lines")
        return faults

    # subprocesses -------------------------------------------------------------------

    def _doveadm(
        self, *args: str, input: str | None = None, ok_codes: Sequence[int] | None = (0,)
    ) -> subprocess.CompletedProcess:
        return self._run(
            [self.config.doveadm, "-c", str(self.config.dovecot_conf), *args],
            input=input,
            ok_codes=ok_codes,
        )

    def _doveadm_json(self, *args: str) -> list[dict]:
        proc = self._doveadm("-f", "json", *args, ok_codes=None)
        try:
            rows = json.loads(proc.stdout or "[]")
        except json.JSONDecodeError as exc:
            raise BackendError(
                f"doveadm {' '.join(args[:2])}: unreadable output ({exc})", permanent=False
            ) from exc
        # With -F, a user lacking the item makes the status non-zero but the rows are valid;
        # anything else (no output at all) is a real failure.
        if proc.returncode != 0 and not rows and proc.returncode != 68:
            message = proc.stderr.strip() or f"exit status {proc.returncode}"
            raise BackendError(
                f"doveadm {' '.join(args[:2])}: {message}",
                permanent=not _is_transient(proc.returncode, message),
            )
        return rows

    def _run(
        self, argv: list[str], *, input: str | None = None, ok_codes: Sequence[int] | None = (0,)
    ) -> subprocess.CompletedProcess:
        if os.sep not in argv[0]:
            search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin"])
            argv = [shutil.which(argv[0], path=search) or argv[0], *argv[1:]]
        try:
            proc = subprocess.run(
                argv,
                input=input,
                capture_output=True,
                text=True,
                timeout=self.config.timeout,
                check=False,
            )
        except FileNotFoundError as exc:
            raise BackendError(f"{argv[0]}: not installed ({exc})", permanent=True) from exc
        except PermissionError as exc:
            raise BackendError(f"{argv[0]}: {exc}", permanent=True) from exc
        except subprocess.TimeoutExpired as exc:
            raise BackendError(
                f"{_label(argv)}: timed out after {exc.timeout}s", permanent=False
            ) from exc
        if ok_codes is not None and proc.returncode not in ok_codes:
            message = (proc.stderr or proc.stdout).strip() or f"exit status {proc.returncode}"
            raise BackendError(
                f"{_label(argv)}: {message}",
                permanent=not _is_transient(proc.returncode, message),
            )
        return proc


# doveadm's sysexits: EX_TEMPFAIL; connection failures come with other codes.
_TRANSIENT_CODES = {75}
_TRANSIENT_WORDS = (
    "connect(",
    "connection refused",
    "timed out",
    "timeout",
    "not running",
    "temporary",
)


def _label(argv: Sequence[str]) -> str:
    """A command for an error message: program and sub-command, without "-c CONFIG"."""
    words = [os.path.basename(argv[0])]
    skip = False
    for arg in argv[1:]:
        if skip or arg in ("-c", "-f"):  # options with a value before the sub-command
            skip = not skip
            continue
        if arg.startswith("-") or len(words) == 3:
            break
        words.append(arg)
    return " ".join(words)


def _is_transient(returncode: int, message: str) -> bool:
    lowered = message.lower()
    return returncode in _TRANSIENT_CODES or any(word in lowered for word in _TRANSIENT_WORDS)


def _user(email: str) -> str:
    """A mailbox address as doveadm's -u wants it; refuses what doveadm reads as a user mask."""
    address = email.strip().lower()
    local, _, domain = address.rpartition("@")
    if not (LOCAL_RE.match(local) and DOMAIN_RE.match(domain)):
        raise BackendError(f"{email!r} is not a mailbox address", permanent=True)
    return address


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


def _write_atomic(path: Path, text: str) -> None:
    """Write then rename, so a reader (postfix reload) never sees half a file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        # Postfix re-reads a texthash file whose mtime is under ~2 s old, pausing 300 ms
        # each time ("let the file cool down", against in-place writers), which stalls
        # every daemon started by the reload. A renamed file is never written in place.
        past = time.time() - 10
        os.utime(tmp, (past, past))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise

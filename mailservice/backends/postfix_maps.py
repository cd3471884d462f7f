"""Postfix's SQL lookup tables: each served domain's rows, written in short transactions,
and the lookup configs (postfix-<name>.cf) Postfix reads them with.

Postfix looks every address up in the database at the SMTP command that needs it, so a
committed change is effective at once, with no reload (texthash tables needed one, and a
reload reaches the running daemons only some time after ``postfix reload`` returns).

Two stores behind one interface (``PostfixMaps``):

* ``SqliteMaps``, the embedded default: ``maps_dir/maps.sqlite3``, a file of its own per
  backend host. Not the Django database (Postfix must not depend on the control plane's
  database, its host or its migrations) and not Dovecot's user database: that file holds
  device-password hashes Postfix has no business reading, is written in rollback-journal
  mode by other code (Postfix treats a "database is locked" from a concurrent writer as
  fatal), and the group and mode WAL needs (below) would have to be Postfix's, not
  Dovecot's. The maps file is in WAL mode, so readers never wait for the writer, in a
  folder of group ``postfix`` with mode 2775 and the file 0664: a reader that finds no
  -wal/-shm (the last connection removed them) must create them, and without write access
  it fails with "attempt to write a readonly database" and Postfix stalls.
* ``PostgresMaps`` when the host has ``maps_database_url``: Postfix reads through
  ``proxy:pgsql:`` (pooled connections), as a role that may only SELECT if
  ``maps_reader_url`` names one. MVCC: a lookup during a write sees the old rows.

Both are read through Postfix's proxymap (``proxy:``), which is in ``proxy_read_maps`` by
default for every parameter the lookups are used in.
"""

from __future__ import annotations

import abc
import contextlib
import grp
import os
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from .base import BackendError
from .config import DovecotPostfixConfig
from .render import (
    MAP_TABLES,
    POSTFIX_LOOKUPS,
    MapRows,
    map_faults,
    render_postfix_lookup,
    render_postfix_map_settings,
)

SCHEMA_VERSION = 2  # 2: the synonyms table
PRIMARY_KEYS = {
    "domains": ("domain",),
    "mailboxes": ("email",),
    "aliases": ("source", "target"),
    "sender_logins": ("sender", "login"),
    "synonyms": ("synonym",),
}
# Valid SQL for SQLite and PostgreSQL alike.
SCHEMA = """
CREATE TABLE IF NOT EXISTS domains (domain TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS mailboxes (
    email TEXT PRIMARY KEY, domain TEXT NOT NULL, enabled SMALLINT NOT NULL);
CREATE INDEX IF NOT EXISTS mailboxes_domain ON mailboxes (domain);
CREATE TABLE IF NOT EXISTS aliases (
    source TEXT NOT NULL, target TEXT NOT NULL, domain TEXT NOT NULL,
    PRIMARY KEY (source, target));
CREATE INDEX IF NOT EXISTS aliases_domain ON aliases (domain);
CREATE TABLE IF NOT EXISTS sender_logins (
    sender TEXT NOT NULL, login TEXT NOT NULL, domain TEXT NOT NULL,
    PRIMARY KEY (sender, login));
CREATE INDEX IF NOT EXISTS sender_logins_domain ON sender_logins (domain);
CREATE TABLE IF NOT EXISTS synonyms (synonym TEXT PRIMARY KEY, domain TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS synonyms_domain ON synonyms (domain);
"""

# run(sql with "?" placeholders, params) -> rows
Run = Callable[[str, tuple], list[tuple]]


class PostfixMaps(abc.ABC):
    """The lookup tables of one backend host; callers hold the adapter's lock around writes."""

    driver: str  # Postfix's table type: "sqlite" or "pgsql"

    def __init__(self, config: DovecotPostfixConfig):
        self.config = config

    # what a store provides ------------------------------------------------------------

    @abc.abstractmethod
    def _prepare(self) -> None:
        """Create the database and its schema if absent."""

    @abc.abstractmethod
    def _transaction(self, *, write: bool) -> contextlib.AbstractContextManager[Run]:
        """One transaction, committed on success; errors become BackendError."""

    @abc.abstractmethod
    def _lookup_connection(self) -> dict[str, str]:
        """Postfix's connection settings for render_postfix_lookup()."""

    @abc.abstractmethod
    def table_ref(self, name: str) -> str:
        """How main.cf names lookup ``name`` (e.g. ``sqlite:/srv/maps/postfix-aliases.cf``)."""

    # the interface ---------------------------------------------------------------------

    def ensure(self) -> None:
        """Create the database, its schema and the lookup configs if absent."""
        self._prepare()
        self.config.maps_dir.mkdir(parents=True, exist_ok=True)
        connection = self._lookup_connection()
        for name in POSTFIX_LOOKUPS:
            text = render_postfix_lookup(name, driver=self.driver, connection=connection)
            path = self.lookup_path(name)
            if _read(path) != text:
                _write_private(path, text, _group_id(self.config.maps_group))

    def lookup_path(self, name: str) -> Path:
        return self.config.maps_dir / f"postfix-{name}.cf"

    def postfix_settings(self, recipient_checks: tuple[str, ...] = ()) -> str:
        """The main.cf lines that make Postfix use these tables."""
        return render_postfix_map_settings({name: self.table_ref(name) for name in POSTFIX_LOOKUPS},
                                           recipient_checks)

    def serves(self, domain: str) -> bool:
        with self._transaction(write=False) as run:
            return bool(run("SELECT 1 FROM domains WHERE domain = ? UNION ALL "
                            "SELECT 1 FROM synonyms WHERE synonym = ?", (domain, domain)))

    def read_domain(self, domain: str) -> MapRows:
        with self._transaction(write=False) as run:
            return _read_rows(run, domain)

    def write_domain(self, domain: str, rows: MapRows | None) -> int:
        """Make the tables hold exactly ``rows`` for ``domain`` (None: nothing), in one
        transaction that touches only the rows that differ; returns how many did."""
        want = rows or {}
        changed = 0
        with self._transaction(write=True) as run:
            have = _read_rows(run, domain)
            # Rows of the service's own tables first, the domain last, when removing; the
            # reverse when adding. One commit makes them all visible at once anyway.
            for table in reversed(MAP_TABLES):
                for row in sorted(set(have[table]) - set(want.get(table, ()))):
                    run(*_delete(table, row, domain))
                    changed += 1
            for table in MAP_TABLES:
                for row in sorted(set(want.get(table, ())) - set(have[table])):
                    run(*_upsert(table, row, domain))
                    changed += 1
        return changed

    def faults(self, expected: MapRows | None, domain: str) -> list[str]:
        """Where the tables disagree with the rows the domain's record renders to."""
        return map_faults(expected or {}, self.read_domain(domain))


def open_maps(config: DovecotPostfixConfig) -> PostfixMaps:
    """The host's store: PostgreSQL when it has maps_database_url, else the embedded SQLite."""
    return PostgresMaps(config) if config.maps_database_url else SqliteMaps(config)


def _read_rows(run: Run, domain: str) -> dict[str, tuple[tuple, ...]]:
    rows = {}
    for table, columns in MAP_TABLES.items():
        found = run(f"SELECT {', '.join(columns)} FROM {table} WHERE domain = ?", (domain,))
        rows[table] = tuple(sorted(tuple(row) for row in found))
    return rows


def _own_columns(table: str) -> tuple[str, ...]:
    """The columns a row of ``table`` is written with (the domain column added)."""
    columns = MAP_TABLES[table]
    return columns if table == "domains" else (*columns, "domain")


def _values(table: str, row: tuple, domain: str) -> tuple:
    return tuple(row) if table == "domains" else (*row, domain)


def _delete(table: str, row: tuple, domain: str) -> tuple[str, tuple]:
    where = " AND ".join(f"{c} = ?" for c in _own_columns(table))
    return f"DELETE FROM {table} WHERE {where}", _values(table, row, domain)


def _upsert(table: str, row: tuple, domain: str) -> tuple[str, tuple]:
    # A row of the same key under another domain (hand-made) is taken over, not an error.
    columns = _own_columns(table)
    key = PRIMARY_KEYS[table]
    rest = [c for c in columns if c not in key]
    conflict = (
        "DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in rest) if rest else "DO NOTHING"
    )
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)}) "
        f"ON CONFLICT ({', '.join(key)}) {conflict}"
    )
    return sql, _values(table, row, domain)


# --- SQLite (embedded default) -------------------------------------------------------


class SqliteMaps(PostfixMaps):
    driver = "sqlite"

    def _prepare(self) -> None:
        cfg = self.config
        gid = _group_id(cfg.maps_group)
        cfg.maps_dir.mkdir(parents=True, exist_ok=True)
        # setgid: the -wal/-shm files Postfix or the worker create get the group too.
        _share(cfg.maps_dir, 0o2775, gid)
        path = cfg.maps_db
        if not path.exists():
            # Created with its mode before SQLite opens it: SQLite gives -wal/-shm the
            # database file's permissions.
            path.touch()
        for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            if file.exists():
                _share(file, 0o664, gid)
        with self._connect() as db:
            if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if mode.lower() != "wal":
                    raise BackendError(f"maps database {path}: cannot use WAL mode "
                                       f"(journal_mode is {mode})", permanent=True)
            if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                db.executescript(SCHEMA)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # The process's one connection to the file, never closed (see _keepers), used by
        # one thread at a time.
        try:
            db, lock = _kept(self.config.maps_db)
        except sqlite3.Error as exc:
            raise BackendError(f"maps database {self.config.maps_db}: {exc}",
                               permanent=True) from exc
        with lock:
            try:
                yield db
            except sqlite3.OperationalError as exc:
                # "database is locked" and friends: another writer, try again later.
                raise BackendError(f"maps database: {exc}", permanent=False) from exc
            except sqlite3.DatabaseError as exc:
                raise BackendError(f"maps database: {exc}", permanent=True) from exc
            finally:
                if db.in_transaction:  # a failed COMMIT leaves it open for the next use
                    db.rollback()

    @contextlib.contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Run]:
        with self._connect() as db:
            # IMMEDIATE takes the write lock first, so two writers never deadlock on an upgrade.
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield lambda sql, params: db.execute(sql, params).fetchall()
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _lookup_connection(self) -> dict[str, str]:
        return {"dbpath": str(self.config.maps_db)}

    def table_ref(self, name: str) -> str:
        # Through proxymap too: one reader for all daemons, and one that is not chrooted
        # (Debian's master.cf chroots smtpd; it opens its tables before chrooting, but SQLite
        # opens a WAL database's -wal/-shm files at the first read, where inside the chroot
        # the path does not exist).
        return f"proxy:sqlite:{self.lookup_path(name)}"


# The one connection each writing process has to each SQLite maps database, kept open for
# the life of the process. In WAL mode SQLite locks other connections out (SQLITE_BUSY, with
# no retry for a reader that set no busy timeout) in two moments: while a connection that
# closes finds no other holding the file and checkpoints it (it takes the file's exclusive
# lock; an idle connection holds no lock on the file, so any close can be "the last"), and
# while the first connection that opens it (nobody has its -shm mapped) rebuilds the index
# from the -wal. Postfix sets no busy timeout and treats "database is locked" as fatal:
# proxymap dies and the master throttles it ("bad command startup"), a minute without
# lookups — seen while a `postfix reload` restarted proxymap as pushes were written. So the
# writer never closes: its connection keeps the -shm mapped, and no close of ours ever
# checkpoints under Postfix's feet (SQLite's automatic checkpoints do not lock readers out).
_keepers: dict[str, tuple[int, sqlite3.Connection, threading.Lock]] = {}  # path -> …
_keepers_lock = threading.Lock()
# Those a forked child inherited: never used nor closed there (closing would checkpoint
# and remove files the parent's connection still uses), only kept referenced.
_inherited: list[object] = []


def _kept(path: Path) -> tuple[sqlite3.Connection, threading.Lock]:
    inode = path.stat().st_ino
    with _keepers_lock:
        kept = _keepers.get(str(path))
        if kept is not None and kept[0] == inode:
            return kept[1], kept[2]
        if kept is not None:  # the file was replaced: its old connection holds nothing useful
            with kept[2]:
                kept[1].close()
        db = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # maps the -shm
        _keepers[str(path)] = (inode, db, threading.Lock())
        return db, _keepers[str(path)][2]


def _forget_keepers_after_fork() -> None:
    _inherited.extend(_keepers.values())
    _keepers.clear()


os.register_at_fork(after_in_child=_forget_keepers_after_fork)


# --- PostgreSQL ---------------------------------------------------------------------------


class PostgresMaps(PostfixMaps):
    driver = "pgsql"

    @contextlib.contextmanager
    def _connect(self):
        import psycopg  # only hosts with PostgreSQL maps need it loaded
        try:
            conn = psycopg.connect(self.config.maps_database_url, autocommit=True,
                                   connect_timeout=max(1, int(self.config.timeout)))
        except psycopg.Error as exc:
            raise BackendError(f"maps database: {_first_line(exc)}", permanent=False) from exc
        try:
            yield conn
        except psycopg.OperationalError as exc:
            raise BackendError(f"maps database: {_first_line(exc)}", permanent=False) from exc
        except psycopg.Error as exc:
            raise BackendError(f"maps database: {_first_line(exc)}", permanent=True) from exc
        finally:
            conn.close()

    @contextlib.contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Run]:
        with self._connect() as conn, conn.transaction():
            def run(sql: str, params: tuple) -> list[tuple]:
                cursor = conn.execute(sql.replace("?", "%s"), params)
                return cursor.fetchall() if cursor.description else []

            yield run

    def _prepare(self) -> None:
        tables = list(MAP_TABLES)
        reader = self._reader().get("user")
        with self._connect() as conn:
            present = conn.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename = ANY(%s)", (tables,)).fetchone()[0]
            if present != len(tables):
                with conn.transaction():
                    conn.execute(SCHEMA)
            if reader and reader != conn.info.user:
                granted = conn.execute(
                    "SELECT bool_and(has_table_privilege(%s, t, 'SELECT')) "
                    "FROM unnest(%s::text[]) AS t", (reader, tables)).fetchone()[0]
                if not granted:
                    from psycopg import sql

                    conn.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(
                        sql.SQL(", ").join(map(sql.Identifier, tables)), sql.Identifier(reader)))

    def _reader(self) -> dict[str, str]:
        from psycopg.conninfo import conninfo_to_dict

        url = self.config.maps_reader_url or self.config.maps_database_url
        try:
            return {k: str(v) for k, v in conninfo_to_dict(url).items() if v is not None}
        except Exception as exc:
            raise BackendError(f"maps reader URL: {exc}", permanent=True) from exc

    def _lookup_connection(self) -> dict[str, str]:
        info = self._reader()
        host = info.get("host", "localhost")
        if host.startswith("/"):
            raise BackendError("maps reader URL: Postfix connects over TCP; give a host name "
                               "or address, not a socket directory", permanent=True)
        connection = {"hosts": f"inet:{host}:{info.get('port', '5432')}"}
        for key in ("user", "password", "dbname"):
            if info.get(key):
                connection[key] = info[key]
        return connection

    def table_ref(self, name: str) -> str:
        # proxymap pools the connections of all Postfix daemons.
        return f"proxy:pgsql:{self.lookup_path(name)}"


# --- files -----------------------------------------------------------------------------------


def _group_id(name: str | None) -> int | None:
    if not name:
        return None
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:  # no Postfix on this machine (unit tests): nobody to share with
        return None


def _share(path: Path, mode: int, gid: int | None) -> None:
    st = path.stat()
    try:
        if gid is not None and st.st_gid != gid:
            os.chown(path, -1, gid)
        if st.st_mode & 0o7777 != mode:
            os.chmod(path, mode)
    except PermissionError as exc:
        raise BackendError(
            f"{path}: cannot give Postfix's group access ({exc}); the worker's user must own "
            "it and belong to that group", permanent=True) from exc


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


def _write_private(path: Path, text: str, gid: int | None) -> None:
    """Write then rename (a Postfix daemon starting meanwhile reads the old or the new file),
    readable by Postfix's group only: a PostgreSQL password may be in it."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        if gid is not None:
            os.chown(tmp, -1, gid)
        os.chmod(tmp, 0o640)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


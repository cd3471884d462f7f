"""Where the Dovecot + Postfix adapter finds its daemons' configs, its tools and its files."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DovecotPostfixConfig:
    dovecot_conf: Path  # absolute; every doveadm/sievec call gets it with -c
    postfix_dir: Path  # absolute Postfix config directory (postfix -c)
    user_db: Path  # SQLite file read by Dovecot's sql passdb/userdb
    # Postfix's lookup configs (postfix-<name>.cf) and, on the embedded default, the
    # SQLite maps database (maps.sqlite3); group maps_group, mode 2775.
    maps_dir: Path
    # Group given read access to user_db: Dovecot's auth process runs unprivileged (its
    # auth-worker, which runs the SQL lookups by default, is root).
    db_group: str | None = "dovecot"
    # Postfix's own group: its daemons must create the SQLite maps' -wal/-shm files, so the
    # maps folder and database are group-writable by it (the worker's user needs the group
    # too when it is not root).
    maps_group: str | None = "postfix"
    # PostgreSQL for the maps instead of the embedded SQLite file: the worker writes with
    # maps_database_url, Postfix reads through proxy:pgsql: with maps_reader_url (a role
    # that may only SELECT; the writer grants it) or, without one, the writer's URL.
    maps_database_url: str | None = None
    maps_reader_url: str | None = None
    # Found on PATH, then in /usr/sbin and /usr/bin (a worker's PATH may lack sbin).
    doveadm: str = "doveadm"
    postfix: str = "postfix"
    postqueue: str = "postqueue"
    postconf: str = "postconf"
    sievec: str = "sievec"
    timeout: float = 30.0
    # Dovecot's log_path: read for LMTP deliveries a Sieve script made fail (None: not
    # watched; such mail then waits in Postfix's queue until the script is changed).
    dovecot_log: Path | None = None
    # The DKIM signer (OpenDKIM; dkim_tables.py): the folder of its KeyTable and
    # SigningTable, the 0700 folder of the private keys, the user the key files are given
    # to (when the worker runs as root), and its pid file, signalled to reload the tables.
    # No dkim_dir: this host signs nothing.
    dkim_dir: Path | None = None
    dkim_keys_dir: Path | None = None
    dkim_user: str | None = None
    opendkim_pid_file: Path | None = None
    # The signature milter's data file (signature_file.py), read again by the milter when
    # it changes. None: this host stamps no signatures.
    signatures_file: Path | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> DovecotPostfixConfig:
        """From settings or a local stack's stack.json (which has these keys and more)."""
        paths = {
            name: Path(str(data[name]))
            for name in ("dovecot_conf", "postfix_dir", "user_db", "maps_dir")
        }
        optional = {
            name: data[name]
            for name in (
                "db_group", "maps_group", "maps_database_url", "maps_reader_url",
                "doveadm", "postfix", "postconf", "postqueue", "sievec", "timeout",
            )
            if name in data
        }
        for name in ("dovecot_log", "dkim_dir", "dkim_keys_dir", "opendkim_pid_file",
                     "signatures_file"):
            if data.get(name):
                optional[name] = Path(str(data[name]))
        if data.get("dkim_user"):
            optional["dkim_user"] = str(data["dkim_user"])
        return cls(**paths, **optional)

    @property
    def maps_db(self) -> Path:
        """The embedded maps database (when maps_database_url is not set)."""
        return self.maps_dir / "maps.sqlite3"

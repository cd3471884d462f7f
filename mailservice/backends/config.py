"""Where the Dovecot + Postfix adapter finds its daemons' configs, its tools and its files."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .render import COMBINED_NAMES


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
    postqueue: str = "postqueue"
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

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> DovecotPostfixConfig:
        """From settings or a local stack's stack.json (which has these keys and more)."""
        paths = {
            name: Path(str(data[name]))
            for name in ("dovecot_conf", "postfix_dir", "user_db", "maps_dir")
        }
        optional = {
            name: data[name]
            for name in ("db_group", "doveadm", "postfix", "postqueue", "sievec", "timeout")
            if name in data
        }
        for name in ("dovecot_log", "dkim_dir", "dkim_keys_dir", "opendkim_pid_file"):
            if data.get(name):
                optional[name] = Path(str(data[name]))
        if data.get("dkim_user"):
            optional["dkim_user"] = str(data["dkim_user"])
        return cls(**paths, **optional)

    @property
    def fragments_dir(self) -> Path:
        return self.maps_dir / "domains.d"

    def combined_map(self, kind: str) -> Path:
        return self.maps_dir / COMBINED_NAMES[kind]

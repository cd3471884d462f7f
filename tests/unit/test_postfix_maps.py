"""The adapter's embedded lookup store and its reload decisions, without daemons (the real
Postfix reading these tables: tests/e2e/test_sql_maps.py)."""

import sqlite3
from pathlib import Path

import pytest

from mailservice.backends.base import BackendError, ForwardState, ServiceState
from mailservice.backends.dovecot_postfix import DovecotPostfixBackend, DovecotPostfixConfig
from mailservice.backends.postfix_maps import PostgresMaps, SqliteMaps, open_maps
from mailservice.backends.render import POSTFIX_LOOKUPS


def config(tmp_path, **kwargs) -> DovecotPostfixConfig:
    return DovecotPostfixConfig(
        dovecot_conf=tmp_path / "dovecot.conf", postfix_dir=tmp_path / "postfix",
        user_db=tmp_path / "users.sqlite3", maps_dir=tmp_path / "maps", **kwargs)


def test_the_embedded_store_is_a_wal_database_of_its_own_with_a_lookup_config_per_table(tmp_path):
    cfg = config(tmp_path)
    store = open_maps(cfg)
    assert isinstance(store, SqliteMaps)
    store.ensure()
    assert cfg.maps_db != cfg.user_db
    with sqlite3.connect(cfg.maps_db) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert cfg.maps_db.stat().st_mode & 0o777 == 0o664
    for name in POSTFIX_LOOKUPS:
        text = store.lookup_path(name).read_text()
        assert f"dbpath = {cfg.maps_db}\n" in text
        assert store.table_ref(name) == f"proxy:sqlite:{cfg.maps_dir}/postfix-{name}.cf"
    assert "virtual_alias_maps = proxy:sqlite:" in store.postfix_settings()


def test_a_push_never_closes_the_last_connection_to_the_embedded_tables(tmp_path):
    # Closing the last connection checkpoints under an exclusive lock and removes the -wal;
    # the process keeps one open so a Postfix daemon opening the file is never locked out.
    cfg = config(tmp_path)
    store = open_maps(cfg)
    store.ensure()
    store.write_domain("keep.test", {"domains": (("keep.test",),)})
    assert Path(f"{cfg.maps_db}-wal").exists()
    assert store.serves("keep.test")


def test_a_host_with_a_maps_database_url_uses_postgres_through_proxymap(tmp_path):
    store = open_maps(config(tmp_path, maps_database_url="postgresql://w@db.internal:6543/maps",
                             maps_reader_url="postgresql://postfix_ro:s3cret@db.internal:6543/maps"))
    assert isinstance(store, PostgresMaps)
    assert store.table_ref("aliases").startswith("proxy:pgsql:")
    assert store._lookup_connection() == {
        "hosts": "inet:db.internal:6543", "user": "postfix_ro", "password": "s3cret",
        "dbname": "maps"}


class Reloads:
    """Stands in for `postfix reload` + the wait; records the calls."""

    def __init__(self, fail: bool = False):
        self.calls: list[int | None] = []
        self.fail = fail

    def __call__(self, *, started_by=None):
        self.calls.append(started_by)
        if self.fail:
            raise BackendError("postfix reload: the Postfix mail system is not running",
                               permanent=False)


@pytest.fixture
def backend(tmp_path):
    return DovecotPostfixBackend(config(tmp_path))


def bare(domain: str, **kwargs) -> ServiceState:
    # No mailboxes: apply() then needs no doveadm call.
    return ServiceState(domain=domain, **kwargs)


def test_only_a_new_domain_reloads_postfix(backend, monkeypatch):
    reloads = Reloads()
    monkeypatch.setattr(backend.postfix_reload, "reload_and_wait", reloads)
    backend.apply(bare("one.test"))
    assert len(reloads.calls) == 1 and isinstance(reloads.calls[0], int)

    backend.apply(bare("one.test", forwards=(ForwardState("info@one.test", ("x@else.test",)),)))
    backend.remove_service("one.test")
    assert len(reloads.calls) == 1
    backend.apply(bare("one.test"))  # served again: new again
    assert len(reloads.calls) == 2
    assert backend.actual("one.test").faults == ()


def test_a_failed_reload_stays_due_and_shows_as_drift_until_a_push_succeeds(backend, monkeypatch):
    failing = Reloads(fail=True)
    monkeypatch.setattr(backend.postfix_reload, "reload_and_wait", failing)
    with pytest.raises(BackendError):
        backend.apply(bare("two.test"))
    assert backend.maps.serves("two.test")  # the rows are committed, the reload is not done
    assert backend.actual("two.test").faults == (
        "postfix: a reload for a new domain is still due",)

    working = Reloads()
    monkeypatch.setattr(backend.postfix_reload, "reload_and_wait", working)
    backend.apply(bare("two.test"))  # the retry: its rows are there, the reload is still due
    assert working.calls == failing.calls  # the same daemons: those older than the commit
    assert backend.actual("two.test").faults == ()


def test_a_record_that_disagrees_with_the_tables_is_a_fault(backend, monkeypatch):
    monkeypatch.setattr(backend.postfix_reload, "reload_and_wait", Reloads())
    backend.apply(bare("three.test"))
    with sqlite3.connect(backend.config.maps_db) as db:
        db.execute("INSERT INTO mailboxes (email, domain, enabled) VALUES (?, ?, 1)",
                   ("ghost@three.test", "three.test"))
    assert backend.actual("three.test").faults == (
        "mailboxes: unexpected row 'ghost@three.test enabled'",)
    backend.apply(bare("three.test"))
    assert backend.actual("three.test").faults == ()


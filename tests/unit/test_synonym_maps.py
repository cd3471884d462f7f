"""A service's synonyms in the adapter's embedded lookup store, without daemons: a new
synonym reloads Postfix like a new domain, the rows read back as the state's (no drift, no
fault), and a dissociated synonym leaves no row (the real Postfix: tests/e2e/test_synonym_*)."""
import sqlite3

import pytest

from mailservice.backends.base import ForwardState, ServiceState, drift
from mailservice.backends.dovecot_postfix import DovecotPostfixBackend
from tests.unit.test_postfix_maps import Reloads, config


@pytest.fixture
def backend(tmp_path, monkeypatch):
    backend = DovecotPostfixBackend(config(tmp_path))
    reloads = Reloads()
    monkeypatch.setattr(backend.postfix_reload, "reload_and_wait", reloads)
    backend.reloads = reloads
    return backend


def state(*synonyms):
    # No mailboxes: apply() then needs no doveadm call.
    return ServiceState(domain="main.test", synonyms=synonyms,
                        forwards=(ForwardState("info@main.test", ("x@else.test",)),))


def rows(backend, sql):
    with sqlite3.connect(backend.config.maps_db) as db:
        return db.execute(sql).fetchall()


def test_a_new_synonym_reloads_postfix_and_reads_back_without_drift(backend):
    backend.apply(state())
    assert len(backend.reloads.calls) == 1
    backend.apply(state())
    assert len(backend.reloads.calls) == 1  # nothing new
    backend.apply(state("syn.test"))
    assert len(backend.reloads.calls) == 2  # the synonym is a new domain for Postfix
    assert backend.maps.serves("syn.test")
    actual = backend.actual("main.test")
    assert actual.synonyms == ("syn.test",) and actual.faults == ()
    assert drift(state("syn.test"), actual) == []
    assert ("info@syn.test", "info@main.test", "main.test") in rows(
        backend, "SELECT source, target, domain FROM aliases")


def test_a_dissociated_synonym_leaves_no_row(backend):
    backend.apply(state("syn.test"))
    backend.apply(state())
    assert not backend.maps.serves("syn.test")
    assert rows(backend, "SELECT * FROM synonyms") == []
    assert not any("syn.test" in source for source, in rows(backend, "SELECT source FROM aliases"))
    actual = backend.actual("main.test")
    assert actual.synonyms == () and actual.faults == ()
    assert drift(state("syn.test"), actual) == ["synonym syn.test: missing"]


def test_a_hand_made_synonym_row_is_drift(backend):
    backend.apply(state())
    with sqlite3.connect(backend.config.maps_db) as db:
        db.execute("INSERT INTO synonyms (synonym, domain) VALUES ('rogue.test', 'main.test')")
    actual = backend.actual("main.test")
    assert "synonym rogue.test: unexpected" in drift(state(), actual)
    backend.apply(state())
    assert backend.actual("main.test").synonyms == ()


def test_the_domains_lookup_answers_for_a_synonym(backend):
    backend.apply(state("syn.test"))
    query = backend.maps.lookup_path("domains").read_text().split("query = ", 1)[1].strip()
    with sqlite3.connect(backend.config.maps_db) as db:
        assert db.execute(query.replace("%s", "syn.test")).fetchall() == [("OK",)]
        assert db.execute(query.replace("%s", "main.test")).fetchall() == [("OK",)]
        assert db.execute(query.replace("%s", "other.test")).fetchall() == []

"""The signature milter's data file as the adapter writes it (mailservice/backends/
signature_file.py), and the drift between the stamps wanted and those written."""
import json

import pytest

from mailservice.backends.base import BackendError, ServiceState, StampState, drift
from mailservice.backends.config import DovecotPostfixConfig
from mailservice.backends.render import normalize
from mailservice.backends.signature_file import SignatureFile, marker

ALICE = StampState(email="alice@one.test", html="<b>A</b>", text="-- \nA")
CAROL = StampState(email="carol@two.test", html="<b>C</b>", text="-- \nC", on_replies=True)


def config(tmp_path, path="signatures.json"):
    return DovecotPostfixConfig(dovecot_conf=tmp_path / "d.conf", postfix_dir=tmp_path,
                                user_db=tmp_path / "u.db", maps_dir=tmp_path,
                                signatures_file=tmp_path / path if path else None)


def test_a_write_replaces_one_domain_and_keeps_the_others(tmp_path):
    signatures = SignatureFile(config(tmp_path))
    assert signatures.write("one.test", [ALICE]) and signatures.write("two.test", [CAROL])
    assert not signatures.write("one.test", [ALICE])  # unchanged: not rewritten
    assert signatures.read("one.test") == (ALICE,) and signatures.read("two.test") == (CAROL,)
    data = json.loads((tmp_path / "signatures.json").read_text())
    assert data["carol@two.test"]["marker"] == marker("<b>C</b>", "-- \nC")
    assert signatures.remove("one.test")
    assert signatures.read("one.test") == () and signatures.read("two.test") == (CAROL,)


def test_a_host_without_a_milter_refuses_stamps_visibly(tmp_path):
    signatures = SignatureFile(config(tmp_path, path=None))
    assert signatures.write("one.test", []) is False
    with pytest.raises(BackendError, match="no signature milter"):
        signatures.write("one.test", [ALICE])


def test_drift_names_missing_changed_and_switched_signatures():
    want = ServiceState(domain="one.test", stamps=(ALICE,))
    assert drift(want, ServiceState(domain="one.test")) == ["signature of alice@one.test: missing"]
    changed = StampState(email="alice@one.test", html="<b>B</b>", text="-- \nA", enabled=False)
    assert drift(want, ServiceState(domain="one.test", stamps=(changed,))) == [
        "signature of alice@one.test: differs",
        "signature of alice@one.test: stamping is off, want on (new messages only)"]
    assert drift(ServiceState(domain="one.test"), want) == [
        "signature of alice@one.test: unexpected"]


def test_a_stamp_must_be_an_address_of_the_service():
    with pytest.raises(ValueError, match="not an address of one.test"):
        normalize(ServiceState(domain="one.test", stamps=(CAROL,)))
    assert normalize(ServiceState(domain="one.test", stamps=(
        StampState(email="Alice@One.test", html="", text="x"),))).stamps[0].email == "alice@one.test"

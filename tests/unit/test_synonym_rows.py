"""The lookup rows of a service's synonym domains (render.render_map_rows): each address of
the service routed from the synonym, a disabled mailbox refused there too, the catchall's
"@synonym" row last, and no row at all once the synonym is gone."""
import pytest

from mailservice.backends.base import ForwardState, MailboxState, ServiceState, drift
from mailservice.backends.render import POSTFIX_LOOKUPS, normalize, render_map_rows

D, S = "main.test", "syn.test"


def box(local, enabled=True):
    return MailboxState(email=f"{local}@{D}", enabled=enabled, quota_mb=0, sieve_script=None)


STATE = ServiceState(
    domain=D, synonyms=(S,), catchall=f"catch@{D}",
    mailboxes=(box("alice"), box("bob", enabled=False), box("catch"), box("red")),
    forwards=(ForwardState(source=f"sales@{D}", targets=(f"alice@{D}", "x@elsewhere.test")),
              ForwardState(source=f"red@{D}", targets=("y@elsewhere.test",))))


def test_each_address_of_the_service_is_routed_from_the_synonym():
    rows = render_map_rows(STATE)
    assert rows["synonyms"] == ((S,),)
    aliases = set(rows["aliases"])
    assert {(f"alice@{S}", f"alice@{D}"), (f"catch@{S}", f"catch@{D}"),
            (f"sales@{S}", f"sales@{D}"), (f"red@{S}", f"red@{D}")} <= aliases
    # the main domain's own rows are unchanged by the synonym
    without = render_map_rows(ServiceState(**{**STATE.__dict__, "synonyms": ()}))
    assert set(without["aliases"]) <= aliases
    assert without["domains"] == rows["domains"] == ((D,),)


def test_a_disabled_mailbox_is_refused_at_the_synonym_as_at_the_main_domain():
    rows = render_map_rows(STATE)
    assert (f"bob@{S}", 0) in rows["mailboxes"]
    assert not any(source == f"bob@{S}" for source, _ in rows["aliases"])
    assert f"bob@{S}" not in {email for email, enabled in rows["mailboxes"] if enabled}


def test_the_catchall_applies_to_the_synonym_through_its_own_row():
    rows = render_map_rows(STATE)
    assert (f"@{S}", f"catch@{D}") in rows["aliases"]
    no_catchall = render_map_rows(ServiceState(**{**STATE.__dict__, "catchall": None}))
    assert not any(source.startswith("@") for source, _ in no_catchall["aliases"])


def test_no_synonym_no_row():
    rows = render_map_rows(ServiceState(**{**STATE.__dict__, "synonyms": ()}))
    assert rows["synonyms"] == ()
    assert not any(S in str(row) for table in rows.values() for row in table)


def test_the_domains_lookup_accepts_the_synonyms():
    assert "FROM synonyms WHERE synonym = '%s'" in POSTFIX_LOOKUPS["domains"]


@pytest.mark.parametrize("bad", ["not a domain", D])
def test_an_invalid_synonym_is_refused(bad):
    with pytest.raises(ValueError):
        normalize(ServiceState(domain=D, synonyms=(bad,)))


def test_synonyms_are_lower_cased_and_a_changed_list_is_drift():
    assert normalize(ServiceState(domain=D, synonyms=("SYN.test.",))).synonyms == (S,)
    assert drift(STATE, ServiceState(**{**STATE.__dict__, "synonyms": ()})) == [
        f"synonym {S}: missing"]
    assert drift(ServiceState(**{**STATE.__dict__, "synonyms": ()}), STATE) == [
        f"synonym {S}: unexpected"]

"""DKIM keys: the first key signs at once; a rotation publishes the new selector, switches
once the record is served and its TTL has passed, withdraws the old record after
MAIL_DKIM_RETIRED_DAYS, each step audited; the times are passed explicitly."""
import base64
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from django.utils import timezone

from dnszones.models import Record
from mailservice import dkim_keys, services
from mailservice.desired import desired_state
from mailservice.models import DkimKey
from manager.audit.models import AuditEntry
from manager.core.errors import Conflict
from manager.core.models import PushJob
from tests.factories import make_domain, make_mail_service

pytestmark = pytest.mark.django_db
State = DkimKey.State


@pytest.fixture
def service(owner, organisation):
    domain = make_domain(owner, organisation, "rotate.example", default_ttl=600)
    assert domain.default_ttl == 600
    return make_mail_service(owner, organisation, "rotate.example")


def selector_records(service):
    return set(Record.objects.filter(domain=service.domain_ref, name__endswith="._domainkey")
               .values_list("name", flat=True))


def test_a_new_service_signs_with_its_own_key_pair_stored_encrypted(service):
    key = service.dkim_keys.get()
    assert key.state == State.ACTIVE and key.activated_at is not None
    assert "PRIVATE KEY" not in key.private_key  # encrypted at rest
    signing = desired_state(service).dkim
    assert signing.selector == key.selector
    private = serialization.load_pem_private_key(signing.private_key.encode(), password=None)
    assert private.key_size == 2048
    public = private.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    assert base64.b64encode(public).decode() == key.public_key
    assert selector_records(service) == {f"{key.selector}._domainkey"}
    assert "signing" not in repr(signing) and signing.private_key not in repr(signing)


def test_a_key_encrypted_with_another_secret_is_refused_plainly(service, settings):
    settings.MAIL_DKIM_KEY_SECRET = "another secret"
    from mailservice.backends.base import BackendError

    with pytest.raises(BackendError) as error:
        desired_state(service)
    assert error.value.permanent and "MAIL_DKIM_KEY_SECRET" in str(error.value)


def test_a_rotation_moves_step_by_step_at_the_times_due(owner, service, settings):
    settings.MAIL_DKIM_RETIRED_DAYS = 7
    t0 = timezone.now()
    old = service.dkim_keys.get()
    new = services.dkim_rotate(actor=owner, service=service, now=t0)
    assert new.state == State.PUBLISHING and new.selector != old.selector
    assert selector_records(service) == {f"{old.selector}._domainkey", f"{new.selector}._domainkey"}
    assert desired_state(service).dkim.selector == old.selector  # the old key still signs
    with pytest.raises(Conflict):
        services.dkim_rotate(actor=owner, service=service, now=t0)

    # The zone push has not been applied: the new selector may not be served yet.
    assert services.dkim_advance(now=t0 + timedelta(hours=1)) == []
    PushJob.objects.filter(kind="dns_zone", target_id="rotate.example").update(
        state=PushJob.State.DONE, applied_generation=10**6, last_applied_at=t0 + timedelta(seconds=5))
    t1 = t0 + timedelta(minutes=1)
    assert services.dkim_advance(now=t1) == [f"dkim.selector_published {new.selector}"]
    new.refresh_from_db()
    assert new.published_at == t1 and new.switch_after == t1 + timedelta(seconds=600)  # its TTL

    assert services.dkim_advance(now=t1 + timedelta(seconds=599)) == []
    t2 = t1 + timedelta(seconds=600)
    assert services.dkim_advance(now=t2) == [f"dkim.switched {new.selector}"]
    old.refresh_from_db(), new.refresh_from_db()
    assert (old.state, new.state) == (State.RETIRED, State.ACTIVE)
    assert old.remove_after == t2 + timedelta(days=7)
    assert desired_state(service).dkim.selector == new.selector
    assert PushJob.objects.get(kind="mail_service", target_id="rotate.example").generation > 1
    # The retired key's record stays published for mail still on its way.
    assert f"{old.selector}._domainkey" in selector_records(service)

    assert services.dkim_advance(now=t2 + timedelta(days=6)) == []
    t3 = t2 + timedelta(days=7)
    assert services.dkim_advance(now=t3) == [f"dkim.retired_key_removed {old.selector}"]
    old.refresh_from_db()
    assert old.state == State.REMOVED and old.private_key == "" and old.removed_at == t3
    assert selector_records(service) == {f"{new.selector}._domainkey"}
    assert services.dkim_advance(now=t3 + timedelta(days=30)) == []

    verbs = list(AuditEntry.objects.filter(verb__startswith="dkim.").order_by("id")
                 .values_list("verb", flat=True))
    assert verbs == ["dkim.key_created", "dkim.rotation_started", "dkim.selector_published",
                     "dkim.switched", "dkim.retired_key_removed"]
    # A new rotation may start once the last one switched.
    services.dkim_rotate(actor=owner, service=service, now=t3)


def test_at_an_external_dns_host_the_switch_waits_for_the_owners_record(owner, organisation,
                                                                       monkeypatch):
    service = make_mail_service(owner, organisation, "external-rotate.example")
    assert not service.domain_ref.uses_our_dns
    new = services.dkim_rotate(actor=owner, service=service)
    from dnszones import resolver
    from dnszones.resolver import Answer

    served = {}
    monkeypatch.setattr(resolver, "lookup",
                        lambda name, rtype: Answer(name, rtype, 300, tuple(served.get(name, ()))))
    assert services.dkim_advance() == []
    name = f"{new.selector}._domainkey.external-rotate.example"
    # The owner created it at their DNS host, cut into strings as DNS hosts do.
    text = f"v=DKIM1; k=rsa; p={new.public_key}"
    served[name] = ['"' + text[:200] + '" "' + text[200:] + '"']
    assert services.dkim_advance() == [f"dkim.selector_published {new.selector}"]


def test_a_removed_service_rotates_no_more(owner, service):
    t0 = timezone.now()
    services.dkim_rotate(actor=owner, service=service, now=t0)
    services.mail_service_delete(actor=owner, service=service)
    assert services.dkim_advance(now=t0 + timedelta(days=60), served=lambda key: True) == []


def test_the_periodic_task_advances_with_an_explicit_time(owner, service):
    from mailservice.tasks import advance_dkim_rotations

    t0 = timezone.now()
    services.dkim_rotate(actor=owner, service=service, now=t0)
    assert advance_dkim_rotations((t0 + timedelta(hours=1)).isoformat()) == 0


def test_selectors_are_never_reused(service):
    selectors = {dkim_keys.new_selector(timezone.now()) for _ in range(50)}
    assert len(selectors) == 50 and all(s.startswith("mm") for s in selectors)

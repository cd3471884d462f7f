"""Removing a mail service or an address: not served at once, restorable during the grace
period (API and pages), its local part or domain held meanwhile, purged afterwards."""
from datetime import timedelta

import pytest
from django.utils import timezone

from mailservice import push
from mailservice.desired import desired_state
from mailservice.models import Address, AddressAccess, MailService
from mailservice.services import removal
from manager.audit.models import AuditEntry
from manager.core.models import PushJob
from tests.factories import grant, make_address, make_mail_service

pytestmark = pytest.mark.django_db
API = "/api/v1"


def generation(service):
    return PushJob.objects.get(target_id=service.domain).generation


# --- addresses -------------------------------------------------------------------------

def test_deleted_address_leaves_the_desired_state_and_lists_but_is_kept_for_the_grace_period(
        api, owner, premium, alice, settings):
    settings.MAIL_REMOVAL_GRACE_DAYS = 30
    client = api(owner)
    before = generation(premium)
    assert client.delete(f"{API}/addresses/{alice.pk}/").status_code == 204

    assert generation(premium) == before + 1  # the push that stops serving it
    assert alice.email not in {box.email for box in desired_state(premium).mailboxes}
    assert [a["email"] for a in client.get(f"{API}/addresses/").json()["results"]] == []
    assert client.get(f"{API}/addresses/{alice.pk}/").status_code == 404
    removed = Address.with_removed.get(pk=alice.pk)
    assert removed.purge_after - removed.removed_at == timedelta(days=30)
    listed = client.get(f"{API}/addresses/removed/").json()
    assert listed["count"] == 1
    assert listed["results"][0] | {"removed_at": None, "purge_after": None} == {
        "id": alice.pk, "mail_service": premium.pk, "local_part": "alice", "email": alice.email,
        "removed_at": None, "purge_after": None, "purge_started": False}
    entry = AuditEntry.objects.filter(object_type="mailservice.address", action="delete").latest("id")
    assert entry.changes["purge_after"] == [None, removed.purge_after.isoformat()]


def test_restore_brings_the_address_back_with_its_users_and_devices(api, owner, member, premium, alice):
    grant(owner, alice, member, ["read"])
    client = api(owner)
    client.delete(f"{API}/addresses/{alice.pk}/")
    before = generation(premium)

    response = client.post(f"{API}/addresses/{alice.pk}/restore/")

    assert response.status_code == 200 and response.json()["email"] == alice.email
    assert generation(premium) == before + 1
    assert alice.email in {box.email for box in desired_state(premium).mailboxes}
    assert AddressAccess.objects.filter(address=alice, user=member).exists()
    assert client.get(f"{API}/addresses/removed/").json()["count"] == 0
    assert AuditEntry.objects.filter(verb="address.restore", object_id=str(alice.pk)).exists()
    # Restoring what is not removed is a 404, like any unknown id.
    assert client.post(f"{API}/addresses/{alice.pk}/restore/").status_code == 404


def test_local_part_of_a_removed_address_is_held_until_restore_or_purge(api, owner, premium, alice):
    client = api(owner)
    client.post(f"{API}/addresses/{alice.pk}/aliases/", {"local_part": "ali"}, format="json")
    client.delete(f"{API}/addresses/{alice.pk}/")
    bob = make_address(owner, premium, "bob")

    for local_part in ("alice", "ali"):
        response = client.post(f"{API}/addresses/", {"mail_service": premium.pk,
                                                     "local_part": local_part}, format="json")
        assert response.status_code == 409, local_part
        error = response.json()["error"]
        assert error["code"] == "local_part_removed"
        assert "alice@domain.xyz" in error["message"] and "restored until" in error["message"]
        response = client.post(f"{API}/addresses/{bob.pk}/aliases/", {"local_part": local_part},
                               format="json")
        assert response.json()["error"]["code"] == "local_part_removed"

    Address.with_removed.filter(pk=alice.pk).delete()  # what the purge ends with
    assert client.post(f"{API}/addresses/", {"mail_service": premium.pk, "local_part": "alice"},
                       format="json").status_code == 201


def test_removed_address_does_not_count_against_the_plan_but_restore_checks_it(api, owner, starter):
    client = api(owner)
    first = make_address(owner, starter, "first")
    client.delete(f"{API}/addresses/{first.pk}/")
    assert client.post(f"{API}/addresses/", {"mail_service": starter.pk, "local_part": "second"},
                       format="json").status_code == 201

    response = client.post(f"{API}/addresses/{first.pk}/restore/")

    assert response.status_code == 403 and response.json()["error"]["code"] == "plan_limit_reached"
    assert Address.removed.filter(pk=first.pk).exists()


def test_only_those_who_may_delete_see_and_restore_removed_addresses(api, owner, member, outsider,
                                                                    premium, alice):
    grant(owner, alice, member, ["read", "send"])
    api(owner).delete(f"{API}/addresses/{alice.pk}/")
    for user in (member, outsider):
        client = api(user)
        assert client.get(f"{API}/addresses/removed/").json()["count"] == 0
        assert client.post(f"{API}/addresses/{alice.pk}/restore/").status_code == 404
    assert Address.removed.filter(pk=alice.pk).exists()


def test_restore_is_refused_once_the_purge_has_begun(api, owner, alice):
    client = api(owner)
    client.delete(f"{API}/addresses/{alice.pk}/")
    Address.with_removed.filter(pk=alice.pk).update(purge_started_at=timezone.now())
    response = client.post(f"{API}/addresses/{alice.pk}/restore/")
    assert response.status_code == 409 and response.json()["error"]["code"] == "purge_started"


# --- mail services ---------------------------------------------------------------------

def test_removed_service_is_not_served_its_domain_is_held_and_restore_brings_everything_back(
        api, owner, organisation, premium, alice):
    client = api(owner)
    bob = make_address(owner, premium, "bob")
    client.delete(f"{API}/addresses/{bob.pk}/")  # removed on its own before
    assert client.delete(f"{API}/mail-services/{premium.pk}/").status_code == 204

    assert client.get(f"{API}/mail-services/").json()["count"] == 0
    assert client.get(f"{API}/addresses/").json()["count"] == 0
    assert client.get(f"{API}/addresses/removed/").json()["count"] == 0  # goes with the service
    assert [s["domain"] for s in client.get(f"{API}/mail-services/removed/").json()["results"]] == [
        "domain.xyz"]
    response = client.post(f"{API}/mail-services/", {"organisation": organisation.pk,
                                                     "domain": "domain.xyz", "plan": "premium"},
                           format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "domain_removed"

    response = client.post(f"{API}/mail-services/{premium.pk}/restore/")
    assert response.status_code == 200 and response.json()["address_count"] == 1
    assert [a["email"] for a in client.get(f"{API}/addresses/").json()["results"]] == [alice.email]
    assert [a["email"] for a in client.get(f"{API}/addresses/removed/").json()["results"]] == [
        bob.email]
    assert AuditEntry.objects.filter(verb="mail_service.restore").exists()


def test_push_of_a_removed_service_removes_it_from_the_backend(owner, premium, alice, monkeypatch,
                                                               settings):
    removed_from = []

    class Backend:
        def remove_service(self, domain):
            removed_from.append(domain)

    monkeypatch.setattr(push, "_hosts", lambda: {"default": {}})
    monkeypatch.setattr(push, "backend_for", lambda host: Backend())
    from mailservice import services

    services.mail_service_delete(actor=owner, service=premium)
    push.push_mail_service(premium.domain)
    assert removed_from == ["domain.xyz"]


# --- the purge ---------------------------------------------------------------------------

class RecordingBackend:
    def __init__(self):
        self.calls = []

    def purge_mailbox(self, email):
        self.calls.append(("mailbox", email))
        return True

    def purge_service(self, domain, emails):
        self.calls.append(("service", domain, sorted(emails)))
        return len(emails)


@pytest.fixture
def backend(monkeypatch):
    recording = RecordingBackend()
    monkeypatch.setattr(push, "backend_for", lambda host: recording)
    return recording


def test_purge_runs_only_after_the_grace_period_and_not_for_a_restored_address(owner, premium, alice,
                                                                              backend, settings):
    from mailservice import services

    settings.MAIL_REMOVAL_GRACE_DAYS = 7
    bob = make_address(owner, premium, "bob")
    services.address_delete(actor=owner, address=alice)
    services.address_delete(actor=owner, address=bob)
    services.address_restore(actor=owner, address=Address.with_removed.get(pk=bob.pk))
    now = timezone.now()

    assert removal.due_purges(now + timedelta(days=6)) == []
    assert removal.due_purges(now + timedelta(days=8)) == [("default", "address", alice.pk)]
    assert not removal.address_purge(address_id=bob.pk, now=now + timedelta(days=8))
    assert removal.address_purge(address_id=alice.pk, now=now + timedelta(days=8))

    assert backend.calls == [("mailbox", "alice@domain.xyz")]
    assert not Address.with_removed.filter(pk=alice.pk).exists()
    assert Address.objects.filter(pk=bob.pk).exists()
    assert AuditEntry.objects.filter(verb="address.purge", object_id=str(alice.pk)).exists()


def test_failed_purge_keeps_the_rows_and_refuses_restore_then_runs_again(owner, alice, monkeypatch):
    from mailservice import services
    from mailservice.backends.base import BackendError

    class Failing(RecordingBackend):
        def purge_mailbox(self, email):
            raise BackendError(f"{email} is still served: push its removal first", permanent=False)

    monkeypatch.setattr(push, "backend_for", lambda host: Failing())
    services.address_delete(actor=owner, address=alice)
    later = timezone.now() + timedelta(days=400)
    with pytest.raises(BackendError):
        removal.address_purge(address_id=alice.pk, now=later)
    removed = Address.with_removed.get(pk=alice.pk)
    assert removed.purge_started_at is not None
    assert [pk for _h, _k, pk in removal.due_purges(later)] == [alice.pk]  # the next run retries

    recording = RecordingBackend()
    monkeypatch.setattr(push, "backend_for", lambda host: recording)
    assert removal.address_purge(address_id=alice.pk, now=later)
    assert recording.calls == [("mailbox", "alice@domain.xyz")]


def test_purge_of_a_service_gets_every_address_it_had(owner, organisation, premium, alice, backend):
    from mailservice import services

    bob = make_address(owner, premium, "bob")
    services.address_delete(actor=owner, address=bob)
    services.mail_service_delete(actor=owner, service=premium)
    later = timezone.now() + timedelta(days=400)
    other = make_mail_service(owner, organisation, "kept.example")

    assert removal.mail_service_purge(service_id=premium.pk, now=later)

    assert ("service", "domain.xyz", ["alice@domain.xyz", "bob@domain.xyz"]) in backend.calls
    assert not MailService.with_removed.filter(pk=premium.pk).exists()
    assert not Address.with_removed.filter(mail_service_id=premium.pk).exists()
    assert MailService.objects.filter(pk=other.pk).exists()


def test_periodic_task_sends_each_due_purge_to_its_backend_hosts_queue(owner, premium, alice,
                                                                       monkeypatch):
    from mailservice import services, tasks

    MailService.objects.filter(pk=premium.pk).update(backend_host="h2")
    services.address_delete(actor=owner, address=alice)
    sent = []
    monkeypatch.setattr(tasks.purge_address, "apply_async",
                        lambda args, queue: sent.append((args, queue)))
    later = (timezone.now() + timedelta(days=400)).isoformat()

    assert tasks.purge_removed_mail(now=timezone.now().isoformat()) == 0
    assert tasks.purge_removed_mail(now=later) == 1
    assert sent == [((alice.pk, later), "mail-h2")]


# --- pages -------------------------------------------------------------------------------

def test_address_list_shows_removed_addresses_with_their_restore_date_and_restores(client, owner,
                                                                                  alice):
    from mailservice import services

    services.address_delete(actor=owner, address=alice)
    client.force_login(owner)
    page = client.get("/mail/addresses/").content.decode()
    assert "Removed" in page and "alice@domain.xyz" in page and "Restore until" in page

    response = client.post("/mail/addresses/", {"operation": "restore", "address": alice.pk})

    assert response.status_code == 302 and Address.objects.filter(pk=alice.pk).exists()


def test_member_is_not_offered_the_restore_and_cannot_post_it(client, owner, member, alice):
    from mailservice import services

    grant(owner, alice, member, ["read"])
    services.address_delete(actor=owner, address=alice)
    client.force_login(member)
    assert client.post("/mail/addresses/", {"operation": "restore",
                                            "address": alice.pk}).status_code == 404
    assert Address.removed.filter(pk=alice.pk).exists()


def test_service_list_shows_removed_services_and_restores_them(client, owner, premium, alice):
    from mailservice import services

    services.mail_service_delete(actor=owner, service=premium)
    client.force_login(owner)
    page = client.get("/mail/").content.decode()
    assert "domain.xyz" in page and "Restore until" in page

    response = client.post("/mail/", {"operation": "restore", "service": premium.pk})

    assert response.status_code == 302 and response["Location"] == f"/mail/services/{premium.pk}/"
    assert MailService.objects.filter(pk=premium.pk).exists()

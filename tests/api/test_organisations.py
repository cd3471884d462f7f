import re

import pytest
from django.core import mail

from manager.accounts.models import Membership, Organisation, OrganisationInvitation
from manager.audit.models import AuditEntry
from tests.factories import add_member, make_organisation, make_user

from .access import assert_access_rules

pytestmark = pytest.mark.django_db


def test_access_rules(api, organisation, member, outsider, other_organisation):
    assert_access_rules(
        api=api, member=member, outsider=outsider,
        list_url="/api/v1/organisations/",
        detail_url=f"/api/v1/organisations/{organisation.pk}/",
        write=("patch", f"/api/v1/organisations/{organisation.pk}/"),
        write_payload={"name": "Renamed"}, member_sees=True,
    )


def test_list_shows_only_the_callers_organisations(api, owner, organisation, other_organisation):
    response = api(owner).get("/api/v1/organisations/")
    assert response.status_code == 200
    names = [o["name"] for o in response.json()["results"]]
    assert names == ["Acme Hosting"]
    assert response.json()["results"][0]["role"] == "owner"


def test_outsider_gets_404_for_another_organisation(api, outsider, organisation, other_organisation):
    assert api(outsider).get(f"/api/v1/organisations/{organisation.pk}/").status_code == 404
    assert api(outsider).delete(f"/api/v1/organisations/{organisation.pk}/").status_code == 404
    assert Organisation.objects.filter(pk=organisation.pk).exists()


def test_post_creates_an_organisation_owned_by_the_caller_and_audits_it(api, member, organisation):
    response = api(member).post("/api/v1/organisations/", {"name": "Member's own"}, format="json")
    assert response.status_code == 201, response.content
    created = Organisation.objects.get(pk=response.json()["id"])
    assert Membership.objects.get(organisation=created, user=member).role == "owner"
    entry = AuditEntry.objects.get(object_type="accounts.organisation", object_id=str(created.pk),
                                   action="create")
    assert entry.actor == member
    assert entry.changes == {"name": [None, "Member's own"]}
    listed = api(member).get("/api/v1/audit-log/", {"organisation": created.pk}).json()["results"]
    assert any(e["object_type"] == "accounts.organisation" and e["action"] == "create" for e in listed)


def test_blank_name_is_refused_with_field_error(api, owner, organisation):
    response = api(owner).post("/api/v1/organisations/", {"name": ""}, format="json")
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "blank"
    assert "name" in body["fields"]
    assert Organisation.objects.count() == 1


def test_owner_renames_and_before_after_is_audited(api, owner, organisation):
    response = api(owner).patch(f"/api/v1/organisations/{organisation.pk}/", {"name": "Acme SA"},
                                format="json")
    assert response.status_code == 200
    entry = AuditEntry.objects.filter(action="update").latest("id")
    assert entry.changes == {"name": ["Acme Hosting", "Acme SA"]}


def test_admin_cannot_delete_organisation_but_owner_can(api, owner, admin, organisation):
    assert api(admin).delete(f"/api/v1/organisations/{organisation.pk}/").status_code == 403
    assert api(owner).delete(f"/api/v1/organisations/{organisation.pk}/").status_code == 204
    assert not Organisation.objects.filter(pk=organisation.pk).exists()


def test_list_query_count_does_not_grow(api, owner, organisation, django_assert_max_num_queries):
    for i in range(30):
        make_organisation(owner, f"Extra {i}")
    client = api(owner)
    with django_assert_max_num_queries(6):
        response = client.get("/api/v1/organisations/?limit=100")
    assert response.json()["count"] == 31


def test_a_page_size_out_of_range_is_refused_not_quietly_changed(api, owner, organisation):
    client = api(owner)
    assert client.get("/api/v1/organisations/?limit=1000").status_code == 200
    for query in ("limit=1001", "limit=100000", "limit=0", "limit=-1", "limit=abc", "limit=",
                  "offset=-1", "offset=x", f"offset={2**31}", f"limit={10**30}"):
        response = client.get(f"/api/v1/organisations/?{query}")
        assert response.status_code == 400, query
        error = response.json()["error"]
        assert error["code"] == "out_of_range"
        assert list(error["fields"]) == [query.split("=")[0]], query
        assert "1000" in error["message"] or "offset" in query


class TestMembers:
    def url(self, organisation, pk=None):
        base = f"/api/v1/organisations/{organisation.pk}/members/"
        return f"{base}{pk}/" if pk else base

    def test_access_rules(self, api, organisation, member, outsider, other_organisation):
        membership = Membership.objects.get(user=member)
        assert_access_rules(
            api=api, member=member, outsider=outsider,
            list_url=self.url(organisation), detail_url=self.url(organisation, membership.pk),
            write=("patch", self.url(organisation, membership.pk)), write_payload={"role": "admin"},
            member_sees=True,  # their own membership: they may leave, not promote themselves
        )

    def test_member_cannot_invite_members(self, api, member, organisation):
        make_user("new@example.org")
        response = api(member).post(self.url(organisation), {"email": "new@example.org"}, format="json")
        assert response.status_code == 403 and not OrganisationInvitation.objects.exists()

    def test_admin_invites_the_person_accepts_then_role_change_and_removal(self, api, admin, organisation):
        person = make_user("new@example.org")
        client = api(admin)
        response = client.post(self.url(organisation), {"email": "NEW@example.org", "role": "member"},
                               format="json")
        assert response.status_code == 202, response.content
        assert response.json()["status"] == "invited" and response.json()["email"] == "new@example.org"
        token = re.search(r"/accounts/invitations/([^/\s]+)/", mail.outbox[0].body).group(1)
        accepted = api(person).post(f"/api/v1/organisation-invitations/{token}/accept/")
        assert accepted.status_code == 201, accepted.content
        pk = accepted.json()["id"]
        assert accepted.json()["user"]["email"] == "new@example.org"
        assert client.patch(self.url(organisation, pk), {"role": "admin"}, format="json").json()["role"] == "admin"
        assert client.delete(self.url(organisation, pk)).status_code == 204
        assert not Membership.objects.filter(user=person, organisation=organisation).exists()
        verbs = set(AuditEntry.objects.filter(organisation=organisation).values_list("verb", flat=True))
        assert {"membership.invite", "invitation.accept", "membership.add", "membership.role",
                "membership.remove"} <= verbs

    def test_inviting_needs_a_valid_e_mail(self, api, owner, organisation):
        response = api(owner).post(self.url(organisation), {"email": "not-an-address"}, format="json")
        assert response.status_code == 400 and "email" in response.json()["error"]["fields"]

    def test_inviting_twice_is_a_conflict(self, api, owner, organisation):
        client = api(owner)
        assert client.post(self.url(organisation), {"email": "p@example.net"}, format="json").status_code == 202
        response = client.post(self.url(organisation), {"email": "p@example.net"}, format="json")
        assert response.status_code == 409 and response.json()["error"]["code"] == "already_invited"

    def test_adding_a_member_again_is_a_conflict(self, api, owner, organisation, member):
        response = api(owner).post(self.url(organisation), {"email": member.email}, format="json")
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "already_member"

    def test_admin_cannot_invite_an_owner(self, api, admin, organisation):
        response = api(admin).post(self.url(organisation), {"email": "p@example.net", "role": "owner"},
                                   format="json")
        assert response.status_code == 403 and not OrganisationInvitation.objects.exists()

    def test_admin_cannot_make_an_owner(self, api, admin, organisation, member):
        membership = Membership.objects.get(user=member)
        response = api(admin).patch(self.url(organisation, membership.pk), {"role": "owner"}, format="json")
        assert response.status_code == 403

    def test_last_owner_cannot_be_removed_or_demoted(self, api, owner, organisation):
        membership = Membership.objects.get(user=owner, organisation=organisation)
        client = api(owner)
        response = client.patch(self.url(organisation, membership.pk), {"role": "admin"}, format="json")
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "last_owner"
        response = client.delete(self.url(organisation, membership.pk))
        assert response.status_code == 409
        membership.refresh_from_db()
        assert membership.role == "owner"

    def test_second_owner_allows_demoting_the_first(self, api, owner, organisation):
        other = make_user("co-owner@example.org")
        add_member(organisation, other, "owner")
        membership = Membership.objects.get(user=owner, organisation=organisation)
        response = api(other).patch(self.url(organisation, membership.pk), {"role": "admin"}, format="json")
        assert response.status_code == 200

    def test_member_may_leave(self, api, member, organisation):
        membership = Membership.objects.get(user=member)
        assert api(member).delete(self.url(organisation, membership.pk)).status_code == 204

    def test_schema_documents_the_neutral_answer(self, api, owner):
        import yaml

        schema = yaml.safe_load(api(owner).get("/api/v1/schema/").content)
        post = schema["paths"]["/api/v1/organisations/{organisation_pk}/members/"]["post"]
        # One success answer, whoever the address belongs to (failures are the error shape).
        assert [s for s in post["responses"] if s.startswith("2")] == ["202"]
        assert "InvitationSent" in str(post["responses"]["202"])

    def test_list_query_count(self, api, owner, organisation, django_assert_max_num_queries):
        for i in range(25):
            add_member(organisation, make_user(f"m{i}@example.org"))
        client = api(owner)
        with django_assert_max_num_queries(7):
            response = client.get(self.url(organisation))
        assert response.json()["count"] == 26


class TestInvitations:
    def url(self, organisation, pk=None, extra=""):
        base = f"/api/v1/organisations/{organisation.pk}/invitations/"
        return f"{base}{pk}/{extra}" if pk else base

    @pytest.fixture
    def invitation(self, api, owner, organisation):
        api(owner).post(f"/api/v1/organisations/{organisation.pk}/members/",
                        {"email": "p@example.net", "role": "admin"}, format="json")
        return OrganisationInvitation.objects.get()

    def test_access_rules(self, api, organisation, member, outsider, other_organisation, invitation):
        assert_access_rules(api=api, member=member, outsider=outsider,
                            list_url=self.url(organisation), detail_url=self.url(organisation, invitation.pk),
                            write=("delete", self.url(organisation, invitation.pk)),
                            member_sees=True)  # the organisation is theirs, its invitations not
        assert api(member).get(self.url(organisation)).status_code == 403

    def test_list_resend_and_revoke(self, api, owner, organisation, invitation):
        client = api(owner)
        listed = client.get(self.url(organisation)).json()["results"]
        assert [(i["email"], i["role"], i["status"]) for i in listed] == [("p@example.net", "admin", "pending")]
        assert "token" not in str(listed) and "url" not in listed[0]
        assert client.post(self.url(organisation, invitation.pk, "resend/")).status_code == 200
        assert len(mail.outbox) == 2
        assert client.delete(self.url(organisation, invitation.pk)).status_code == 204
        assert client.get(self.url(organisation, invitation.pk)).json()["status"] == "revoked"
        again = client.delete(self.url(organisation, invitation.pk))
        assert again.status_code == 409 and again.json()["error"]["code"] == "invitation_not_pending"

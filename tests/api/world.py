"""A world of one object of every kind the API addresses by id, for one organisation — the
attack tests build two (A and B) and call A's routes with B's ids.

`OBJECTS` is the one table to extend: it maps a route up to and including one path
parameter (`/api/v1/addresses/{address_pk}/aliases/{id}/`) to how to make that object in
a world (a function of the `World`, returning the id). A new route whose parameters have
no row here fails `missing_objects()` with the route named. Makers build through the API
as the world's owner where they can (the real paths) and through services otherwise; every
name in world B contains its `marker` so an answer leaking B's data is easy to spot."""
import re

from rest_framework.test import APIClient

from manager.accounts.services import api_token_create
from tests.factories import add_member, make_organisation, make_user

V1 = "/api/v1"
MESSAGE = (b"From: Shop <news@shop.example>\r\nTo: someone@example.org\r\nSubject: Offers\r\n"
           b"Message-ID: <1@shop.example>\r\n\r\nHello\r\n")


class World:
    """One organisation (`organisation`), its owner (`owner`, with an API client `api`),
    and the objects of OBJECTS, made on first use and kept."""

    def __init__(self, marker: str):
        self.marker = marker
        self.domain = f"{marker}.example"
        self.owner = make_user(f"owner@{marker}-people.example", full_name=f"Owner {marker}")
        self.organisation = make_organisation(self.owner, f"Organisation {marker}")
        self.api = client_for(self.owner)
        self._made: dict[str, int] = {}

    def __getitem__(self, route: str) -> int:
        if route not in OBJECTS:
            raise AssertionError(f"no object for {route} — add a row to OBJECTS in "
                                 "tests/api/world.py")
        if route not in self._made:
            self._made[route] = OBJECTS[route](self)
        return self._made[route]

    def make_all(self) -> "World":
        for route, maker in OBJECTS.items():
            if maker is not NOT_AN_OBJECT:
                self[route]
        return self

    def post(self, path: str, body: dict, *, multipart=False, expect=(201,)) -> dict:
        response = self.api.post(path, body, format="multipart" if multipart else "json")
        assert response.status_code in expect, (path, response.status_code, response.content[:300])
        return response.json()

    def first(self, path: str) -> int:
        response = self.api.get(path)
        assert response.status_code == 200, (path, response.content[:300])
        return response.json()["results"][0]["id"]


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        _token, raw = api_token_create(actor=user, name="attack")
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def NOT_AN_OBJECT(world):  # noqa: N802 — a marker used as a table value
    """The parameter is a secret (an invitation token), not an id of an organisation's object."""
    raise AssertionError("not an object")


def _service(w):
    from tests.factories import make_mail_service

    return make_mail_service(w.owner, w.organisation, w.domain, plan="premium").pk


def _address(w):
    address = w.post(V1 + "/addresses/", {"mail_service": w[MS], "local_part": "box",
                                          "display_name": f"Box {w.marker}"})["id"]
    # The owner uses the address: device passwords are a user's own.
    w.post(V1 + f"/addresses/{address}/users/", {"user_id": w.owner.pk,
                                                   "permissions": ["read", "send"]})
    return address


def _access(w):
    person = make_user(f"user@{w.marker}-people.example", full_name=f"User {w.marker}")
    add_member(w.organisation, person, "member")
    return w.post(V1 + f"/addresses/{w[AD]}/users/", {"user_id": person.pk,
                                                       "permissions": ["read"]})["id"]


def _membership(w):
    person = make_user(f"admin@{w.marker}-people.example", full_name=f"Admin {w.marker}")
    return add_member(w.organisation, person, "admin").pk


def _organisation_invitation(w):
    from manager.accounts.services import organisation_invitation_create

    return organisation_invitation_create(actor=w.owner, organisation=w.organisation,
                                          email=f"invited@{w.marker}-people.example").pk


def _rule_template(w):
    return w.post(V1 + f"/mail-services/{w[MS]}/rule-templates/", {
        "name": f"Template {w.marker}", "rules": [
            {"name": "news", "conditions": [{"field": "subject", "operator": "contains",
                                             "value": "news"}],
             "actions": [{"kind": "move", "argument": "News"}]}]})["id"]


def _signature_template(w):
    return w.post(V1 + f"/mail-services/{w[MS]}/signature-templates/", {
        "name": f"Signature {w.marker}", "layout": "logo",
        "fields": [{"key": "first_name", "source": "auto"},
                   {"key": "department", "source": "user"}]})["id"]


def _signature_job(w):
    template = w[ST]
    w.post(V1 + f"/mail-services/{w[MS]}/signature-templates/{template}/publish/", {},
           expect=(200,))
    return w.post(V1 + f"/mail-services/{w[MS]}/signature-templates/{template}/activate/",
                  {"addresses": [w[AD]]}, expect=(202,))["id"]


def _signature(w):
    from signatures.services import job_run

    job_run(w[SJ])
    return w.first(V1 + f"/addresses/{w[AD]}/signatures/")


def _import_job(w):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = SimpleUploadedFile("a.csv", f"local_part,display_name\nnew,New {w.marker}\n".encode(),
                              content_type="text/csv")
    return w.post(V1 + "/addresses/import/", {"mail_service": w[MS], "dry_run": "true",
                                              "file": data}, multipart=True, expect=(202,))["id"]


def _ban(w):
    from django.test import override_settings

    from mailservice.models import Address
    from manager.security import services as bans

    email = Address.objects.get(pk=w[AD]).email
    with override_settings(BANS={**_bans_settings(), "account_failures": 1}):
        ban = bans.record_failure(f"192.0.2.{10 + len(w.marker)}", email, protocol="imap")
    assert ban is not None
    return ban.pk


def _bans_settings():
    from django.conf import settings

    return settings.BANS


def _allowed_network(w):
    path = V1 + f"/organisations/{w.organisation.pk}/allowed-networks/"
    version = w.api.get(path + "warning/").json()["version"]
    return w.post(path, {"network": f"198.51.100.{len(w.marker)}/32",
                         "accepted_warning_version": version})["id"]


def _domain(w):
    return w.post(V1 + "/domains/", {"organisation": w.organisation.pk,
                                     "name": f"zone-{w.marker}.example"})["id"]


def _record(w):
    return w.post(V1 + f"/domains/{w[DO]}/records/", {"name": f"www-{w.marker}", "type": "A",
                                                       "value": "192.0.2.1"})["id"]


def _synonym(w):
    synonym = w.post(V1 + "/domains/", {"organisation": w.organisation.pk,
                                        "name": f"synonym-{w.marker}.example"})["id"]
    w.post(V1 + f"/domains/{w[DO]}/synonyms/", {"domain": f"synonym-{w.marker}.example"})
    return synonym


def _audit_entry(w):
    from manager.audit.models import AuditEntry

    w[AD]
    return AuditEntry.objects.filter(organisation=w.organisation).latest("pk").pk


def _phishing_report(w):
    return w.post(V1 + "/tools/phishing-reports/", {"headers": MESSAGE.decode(),
                                                    "organisation": w[ORG]})["id"]


def _token(w):
    return w.post(V1 + "/tokens/", {"name": f"token {w.marker}"})["id"]


MS = V1 + "/mail-services/{id}/"
AD = V1 + "/addresses/{id}/"
DO = V1 + "/domains/{id}/"
ST = V1 + "/mail-services/{service_pk}/signature-templates/{id}/"
SJ = V1 + "/signature-jobs/{id}/"
ORG = V1 + "/organisations/{id}/"

OBJECTS = {
    ORG: lambda w: w.organisation.pk,
    V1 + "/organisations/{organisation_pk}/": lambda w: w[ORG],
    V1 + "/organisations/{organisation_pk}/members/{id}/": _membership,
    V1 + "/organisations/{organisation_pk}/invitations/{id}/": _organisation_invitation,
    V1 + "/organisations/{organisation_pk}/bans/{id}/": _ban,
    V1 + "/organisations/{organisation_pk}/allowed-networks/{id}/": _allowed_network,
    MS: _service,
    V1 + "/mail-services/{service_pk}/": lambda w: w[MS],
    V1 + "/mail-services/{service_pk}/rule-templates/{id}/": _rule_template,
    ST: _signature_template,
    SJ: _signature_job,
    AD: _address,
    V1 + "/addresses/{address_pk}/": lambda w: w[AD],
    V1 + "/addresses/{address_pk}/aliases/{id}/": lambda w: w.post(
        V1 + f"/addresses/{w[AD]}/aliases/", {"local_part": f"alias-{w.marker}"})["id"],
    V1 + "/addresses/{address_pk}/redirections/{id}/": lambda w: w.post(
        V1 + f"/addresses/{w[AD]}/redirections/", {"target": f"away@{w.marker}.invalid"})["id"],
    V1 + "/addresses/{address_pk}/device-passwords/{id}/": lambda w: w.post(
        V1 + f"/addresses/{w[AD]}/device-passwords/", {"name": f"laptop {w.marker}"})["id"],
    V1 + "/addresses/{address_pk}/invitations/{id}/": lambda w: w.post(
        V1 + f"/addresses/{w[AD]}/invitations/", {"email": f"guest@{w.marker}-people.example",
                                                  "permissions": ["read"]})["id"],
    V1 + "/addresses/{address_pk}/rules/{id}/": lambda w: w.post(
        V1 + f"/addresses/{w[AD]}/rules/", {
            "name": f"rule {w.marker}", "conditions": [{"field": "subject", "operator": "contains",
                                                        "value": "offers"}],
            "actions": [{"kind": "move", "argument": "Offers"}]})["id"],
    V1 + "/addresses/{address_pk}/signatures/{id}/": _signature,
    V1 + "/addresses/{address_pk}/users/{id}/": _access,
    V1 + "/jobs/{id}/": _import_job,
    DO: _domain,
    V1 + "/domains/{domain_pk}/": lambda w: w[DO],
    V1 + "/domains/{domain_pk}/records/{id}/": _record,
    V1 + "/domains/{domain_pk}/synonyms/{id}/": _synonym,
    V1 + "/audit-log/{id}/": _audit_entry,
    V1 + "/tokens/{id}/": _token,
    V1 + "/tools/phishing-reports/{id}/": _phishing_report,
    V1 + "/invitations/{token}/": NOT_AN_OBJECT,
    V1 + "/organisation-invitations/{token}/": NOT_AN_OBJECT,
}

PARAMETER = re.compile(r"\{(\w+)\}")


def parameter_routes(path: str) -> list[tuple[str, str]]:
    """(parameter name, route up to and including it) for each path parameter, in order:
    `/a/{address_pk}/rules/{id}/x/` → [("address_pk", "/a/{address_pk}/"),
    ("id", "/a/{address_pk}/rules/{id}/")]."""
    return [(m.group(1), path[:m.end()] + "/") for m in PARAMETER.finditer(path)]


def operations(schema):
    return sorted((path, method) for path, ops in schema["paths"].items() for method in ops
                  if method in ("get", "post", "put", "patch", "delete"))


def missing_objects(schema) -> list[str]:
    return sorted({f"{path}: no object for {route} — add a row to OBJECTS in tests/api/world.py"
                   for path, _method in operations(schema)
                   for _name, route in parameter_routes(path) if route not in OBJECTS})


def url(path: str, values: list) -> str:
    parts = iter(values)
    return PARAMETER.sub(lambda m: str(next(parts)), path)

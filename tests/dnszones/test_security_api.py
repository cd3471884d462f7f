"""`domains/{id}/security-check/`: the findings of what the DNS answers (a private server
here, through DNS_RESOLVER), cached until `?refresh=1` or POST; `security-check/fix/`
applies a finding's fix through the record service (audited, pushed) for our zones and
refuses it for a zone served elsewhere, whose findings carry the record to create; the
periodic task; the domain page's section and the list's badge."""
import pytest
from django.urls import reverse

from dnszones import tasks
from dnszones.models import PUSH_KIND, Record, SecurityCheck
from manager.audit.models import AuditEntry
from manager.core.models import PushJob
from tests.factories import make_domain, make_record

from .spf_zones import serve

pytestmark = pytest.mark.django_db

OURS = {"_spf.ours.example.org": {"TXT": ["v=spf1 ip4:192.0.2.0/24 -all"]},
        "_spf.other.example.org": {"TXT": ["v=spf1 ip4:198.51.100.0/24 -all"]}}
PROBLEMS = {"example.org": {"MX": ["10 mx.elsewhere.example."],
                            "TXT": ["v=spf1 include:_spf.other.example.org -all"]}}


@pytest.fixture
def dns(settings):
    servers = []
    settings.MAIL_SPF_INCLUDE, settings.MAIL_MX_HOST = "_spf.ours.example.org", "mx.ours.example"
    settings.MAIL_MX_HOSTS = {}

    def publish(zones):
        server = serve({**OURS, **zones}, "example.org")
        servers.append(server)
        settings.DNS_RESOLVER, settings.DNS_RESOLVER_TIMEOUT = server.address, 2
        return server

    yield publish
    for server in servers:
        server.close()


def url(zone, suffix=""):
    return f"/api/v1/domains/{zone.pk}/security-check/{suffix}"


def by_code(body):
    return {f["code"]: f for f in body["findings"]}


def test_the_check_reports_what_the_dns_answers_and_is_cached(api, owner, zone, dns):
    dns(PROBLEMS)
    response = api(owner).get(url(zone))
    assert response.status_code == 200, response.content
    body = response.json()
    found = by_code(body)
    assert body["worst"] == "error"
    assert found["mx_elsewhere"]["severity"] == "error"
    assert found["mx_elsewhere"]["fix"]["value"] == "10 mx.ours.example."
    assert found["mx_elsewhere"]["fix"]["applicable"] is True
    assert found["spf_without_our_include"]["fix"]["replaces"] == [
        "v=spf1 include:_spf.other.example.org -all"]
    assert found["dmarc_missing"]["severity"] == "warning"
    assert "message" in found["dmarc_missing"] and found["dkim_no_key"]["fix"] is None

    dns({"example.org": {"MX": ["10 mx.ours.example."],
                         "TXT": ["v=spf1 include:_spf.ours.example.org -all"]}})
    assert "mx_elsewhere" in by_code(api(owner).get(url(zone)).json())  # the cached one
    fresh = by_code(api(owner).get(url(zone) + "?refresh=1").json())
    assert "mx_elsewhere" not in fresh and fresh["mx_ok"]["severity"] == "ok"
    assert fresh["spf_ok"]["message"].startswith("The SPF record is valid")
    dns(PROBLEMS)
    assert "mx_elsewhere" in by_code(api(owner).post(url(zone)).json())  # POST checks again


def test_a_fix_replaces_the_zone_records_through_the_record_service(api, owner, zone, dns):
    make_record(owner, zone, "@", "TXT", "v=spf1 include:_spf.other.example.org -all")
    make_record(owner, zone, "@", "MX", "10 mx.elsewhere.example.")
    PushJob.objects.all().delete()
    dns(PROBLEMS)
    client = api(owner)
    response = client.post(url(zone, "fix/"), {"code": "spf_without_our_include"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["record"]["value"] == (
        '"v=spf1 include:_spf.ours.example.org include:_spf.other.example.org -all"')
    assert [r.shown_value for r in Record.objects.filter(domain=zone, type="TXT")] == [
        "v=spf1 include:_spf.ours.example.org include:_spf.other.example.org -all"]
    assert PushJob.objects.filter(kind=PUSH_KIND, target_id="example.org").exists()
    assert AuditEntry.objects.filter(action="delete", object_type__endswith="record").exists()

    assert client.post(url(zone, "fix/"), {"code": "mx_elsewhere"}, format="json").status_code == 200
    assert [r.value for r in Record.objects.filter(domain=zone, type="MX")] == ["10 mx.ours.example."]
    assert client.post(url(zone, "fix/"), {"code": "dmarc_missing"}, format="json").status_code == 200
    assert Record.objects.get(domain=zone, name="_dmarc").shown_value == "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.net"

    missing = client.post(url(zone, "fix/"), {"code": "mx_ok"}, format="json")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "nothing_to_fix")


def test_a_fix_the_zone_does_not_explain_is_a_conflict(api, owner, zone, dns):
    dns(PROBLEMS)  # the DNS answers records the zone here does not hold
    response = api(owner).post(url(zone, "fix/"), {"code": "mx_elsewhere"}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "zone_not_served")
    assert not Record.objects.filter(domain=zone).exists()


def test_a_zone_served_elsewhere_gets_the_record_to_create(api, owner, organisation, dns):
    zone = make_domain(owner, organisation, "example.org", uses_our_dns=False)
    dns(PROBLEMS)
    client = api(owner)
    fix = by_code(client.get(url(zone)).json())["dmarc_missing"]["fix"]
    assert fix["applicable"] is False
    assert fix["record"] == '_dmarc.example.org. IN TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.net"'
    response = client.post(url(zone, "fix/"), {"code": "dmarc_missing"}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "external_dns")


def test_others_cannot_see_or_fix(api, owner, outsider, member, zone, dns):
    dns(PROBLEMS)
    assert api(outsider).get(url(zone)).status_code == 404
    assert api(outsider).post(url(zone, "fix/"), {"code": "dmarc_missing"}, format="json").status_code == 404
    assert api(member).post(url(zone, "fix/"), {"code": "dmarc_missing"},
                            format="json").status_code in (403, 404)  # a member does not manage DNS
    assert not Record.objects.filter(domain=zone).exists()


def test_the_periodic_task_checks_every_domain(owner, organisation, zone, dns):
    other = make_domain(owner, organisation, "sub.example.org")
    dns(PROBLEMS)
    counts = tasks.security_check_domains()
    assert sum(counts.values()) == 2 and counts.get("error") == 2
    assert SecurityCheck.objects.get(domain=zone).worst == "error"
    assert "mx_missing" in {f["code"] for f in SecurityCheck.objects.get(domain=other).findings}


def test_the_domain_page_section_has_fix_buttons_and_the_list_a_badge(client, owner, zone, dns):
    make_record(owner, zone, "@", "MX", "10 mx.elsewhere.example.")
    dns(PROBLEMS)
    client.force_login(owner)
    section = client.get(reverse("dnszones:security_check", args=[zone.pk]))
    assert section.status_code == 200
    html = section.content.decode()
    assert 'data-code="mx_elsewhere"' in html and "Fix: replace the record" in html
    assert "Repair it on the SPF page" not in html  # the SPF record is fixed by a button here
    listing = client.get(reverse("dnszones:index")).content.decode()
    assert 'data-severity="error"' in listing and "security-badge" in listing
    response = client.post(reverse("dnszones:security_check", args=[zone.pk]),
                           {"operation": "fix", "code": "mx_elsewhere", "name": "@"})
    assert response.status_code == 302
    assert [r.value for r in Record.objects.filter(domain=zone, type="MX")] == ["10 mx.ours.example."]


def test_the_check_runs_periodically(settings):
    from manager.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["security-check-domains"]
    assert entry["task"] in app.tasks and entry["schedule"] > 0


def test_the_findings_and_the_policy_summary_are_in_the_users_language(client, owner, zone, dns):
    dns({**PROBLEMS, "_dmarc.example.org": {"TXT": ["v=DMARC1; p=none; pct=50; rua=mailto:d@example.org"]}})
    client.force_login(owner)
    assert client.post("/i18n/setlang/", {"language": "fr", "next": "/"}).status_code == 302
    html = client.get(reverse("dnszones:security_check", args=[zone.pk])).content.decode()
    assert "Les enregistrements MX pointent vers mx.elsewhere.example" in html
    assert ("Politique DMARC : le courrier qui échoue au contrôle DMARC est quand même remis "
            "(surveillance seulement) ; cela s&#x27;applique à 50 % de ce courrier") in html
    assert "Corriger : remplacer l'enregistrement" in html


def test_an_spf_problem_without_a_one_record_fix_links_to_the_spf_doctor(client, owner, zone, dns):
    dns({"example.org": {"MX": ["10 mx.ours.example."],
                         "TXT": ["v=spf1 include:_spf.ours.example.org -all", "v=spf1 a -all"]}})
    client.force_login(owner)
    html = client.get(reverse("dnszones:security_check", args=[zone.pk])).content.decode()
    assert 'data-code="spf_several"' in html
    assert reverse("dnszones:spf", args=[zone.pk]) in html and "Repair it on the SPF page" in html


def test_one_domain_failing_does_not_stop_the_periodic_check(owner, organisation, zone, dns,
                                                          monkeypatch):
    from dnszones.services import security

    other = make_domain(owner, organisation, "sub.example.org")
    dns(PROBLEMS)
    real = security.expected

    def expected(domain):
        if domain.pk == zone.pk:
            raise RuntimeError("surprise")
        return real(domain)

    monkeypatch.setattr(security, "expected", expected)
    assert tasks.security_check_domains() == {"failed": 1, "error": 1}
    assert SecurityCheck.objects.filter(domain=other).exists()

"""The security check against a real Knot: a zone of ours with problems (MX elsewhere, SPF
without our include, no DMARC) is pushed to the test Knot by the outbox (run in this
process), our SPF include is served there too, and DNS_RESOLVER points at Knot. The check
reports the problems; each is fixed with its button (the API's fix), the zone is pushed
again, and the next check finds them gone."""
import json

import pytest

from dnszones import push
from dnszones.backends.base import ZoneState
from dnszones.backends.canonical import rrset
from dnszones.models import PUSH_KIND
from manager.core import outbox
from manager.core.models import PushJob
from tests.factories import make_domain

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

NS = ["ns1.example.net.", "ns2.example.net."]
PROVIDERS = {"sec-ours.test.": {"_spf": ["v=spf1 ip4:192.0.2.0/24 ip6:2001:db8:25::/48 -all"]},
             "sec-other.test.": {"_spf": ["v=spf1 ip4:198.51.100.0/24 -all"]}}


@pytest.fixture
def our_dns(knot, tmp_path, settings, monkeypatch):
    """Our zones pushed to Knot by the outbox, the providers' zones served there, and every
    lookup of the product asking Knot."""
    config = tmp_path / "dns.json"
    config.write_text(json.dumps(knot.to_json()))
    settings.DNS_BACKEND_CONFIG = str(config)
    settings.DNS_NAMESERVERS = NS
    settings.DNS_RESOLVER, settings.DNS_RESOLVER_TIMEOUT = f"{knot.host}:{knot.port}", 3
    settings.MAIL_SPF_INCLUDE, settings.MAIL_MX_HOST = "_spf.sec-ours.test", "mx.sec-ours.test"
    settings.MAIL_MX_HOSTS = {}
    backend = knot.backend()
    for zone, owners in PROVIDERS.items():
        rrsets = [rrset(zone, "@", "NS", 300, NS)]
        rrsets += [rrset(zone, owner, "TXT", 300, [f'"{v}"' for v in values])
                   for owner, values in owners.items()]
        backend.apply(ZoneState(zone, tuple(sorted(rrsets))), expected=None)
    push.forget_hosts()
    monkeypatch.setattr(outbox, "send", lambda job, countdown=None: None)
    yield knot
    push.forget_hosts()


def run_push(name):
    job = PushJob.objects.get(kind=PUSH_KIND, target_id=name)
    assert outbox.run(job.pk) == "done", PushJob.objects.get(pk=job.pk).sync_error


def findings(client, domain):
    response = client.get(f"/api/v1/domains/{domain.pk}/security-check/?refresh=1")
    assert response.status_code == 200, response.content
    return {f["code"]: f for f in response.json()["findings"]}


def test_security_findings_from_knot_disappear_once_fixed_with_their_button(
        api, owner, organisation, our_dns):
    client = api(owner)
    domain = make_domain(owner, organisation, "sec-problems.test")
    records = f"/api/v1/domains/{domain.pk}/records/"
    for body in ({"type": "MX", "value": "10 mx.elsewhere.test."},
                 {"type": "TXT", "value": "v=spf1 include:_spf.sec-other.test -all"},
                 {"name": "autoconfig", "type": "CNAME", "value": "autoconfig.example.net."}):
        assert client.post(records, body, format="json").status_code == 201, body
    run_push("sec-problems.test")

    before = findings(client, domain)
    assert before["mx_elsewhere"]["severity"] == "error"
    assert "mx.elsewhere.test" in before["mx_elsewhere"]["message"]
    assert before["spf_without_our_include"]["severity"] == "error"
    assert before["dmarc_missing"]["severity"] == "warning"
    assert "autoconfig_missing" not in before and "autodiscover_missing" in before

    fix = f"/api/v1/domains/{domain.pk}/security-check/fix/"
    for code in ("mx_elsewhere", "spf_without_our_include", "dmarc_missing"):
        response = client.post(fix, {"code": code}, format="json")
        assert response.status_code == 200, (code, response.content)
        # Until the push reaches Knot, the DNS still answers the problem.
        assert code in {f["code"] for f in response.json()["check"]["findings"]}
        run_push("sec-problems.test")

    after = findings(client, domain)
    assert not {"mx_elsewhere", "spf_without_our_include", "dmarc_missing"} & set(after)
    assert after["mx_ok"]["severity"] == "ok"
    assert after["spf_ok"]["message"] == ("The SPF record is valid, includes our servers and makes "
                                          "2 of the 10 DNS lookups allowed.")
    # The fix installs what a mail service installs: monitoring first (p=none, with reports).
    assert after["dmarc_policy"]["severity"] == "warning"
    assert after["dmarc_policy"]["message"].startswith(
        "DMARC policy: mail failing the DMARC check is delivered anyway (monitoring only)")
    assert "autodiscover_missing" in after  # not fixed: still reported


def test_security_check_passes_a_domain_whose_records_the_mail_service_installed(
        api, owner, organisation, our_dns):
    """What a mail service installs (MX, SPF with our include, DMARC, client names, the
    DKIM selector of its key) is exactly what the check expects: nothing to fix."""
    client = api(owner)
    domain = make_domain(owner, organisation, "sec-installed.test")
    created = client.post("/api/v1/mail-services/", {"organisation": organisation.pk,
                                                     "domain": "sec-installed.test",
                                                     "plan": "premium"}, format="json")
    assert created.status_code == 201, created.content
    run_push("sec-installed.test")
    found = findings(client, domain)
    problems = {code: f["message"] for code, f in found.items()
                if f["severity"] in ("warning", "error") and code != "dmarc_policy"}
    assert problems == {}
    assert found["dkim_ok"]["severity"] == "ok", found  # the stored key is the one served
    assert found["dmarc_policy"]["severity"] == "warning"  # p=none, as installed to start

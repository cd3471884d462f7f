"""The security check of a domain's mail DNS on the Django side: what our mail service needs
(`expected`, from the settings and the domain's mail service), the check through the
product's one resolver (DNS_RESOLVER), its cache (SecurityCheck: periodic in Celery and on
demand) and the fixes: for a zone we serve, a finding's record change applied through the
record service; for a zone served elsewhere, the exact record to create there (the API and
the page show it, nothing is applied)."""
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from manager.accounts.roles import CHANGE
from manager.core.errors import Conflict, ServiceError

from .. import security as core
from .. import spf as spf_core
from ..models import Domain, Record, SecurityCheck
from ..zone.records import txt_text
from .common import require
from .records import record_create, record_delete
from .spf import dns_lookup

log = logging.getLogger(__name__)


def message(template: str, params: dict | None = None) -> str:
    return spf_core.render_message(template, params or {}, gettext)


def mx_host_for(backend_host: str) -> str:
    """The host a backend host receives mail on: the target of the MX records of the
    domains it serves."""
    return settings.MAIL_MX_HOSTS.get(backend_host, settings.MAIL_MX_HOST)


def expected_dkim(domain: Domain) -> list[tuple[str, str]]:
    """The DKIM keys of the domain's mail services that must be published: (selector,
    public key in base64) — the signing key, one being rotated in, and a retired one whose
    record stays until its removal. The keys belong to the mail app, which builds on this
    one: looked up by name so dnszones does not import it."""
    from django.apps import apps

    DkimKey = apps.get_model("mailservice", "DkimKey")
    keys = (DkimKey.objects.filter(mail_service__domain_ref=domain)
            .exclude(state=DkimKey.State.REMOVED).order_by("selector"))
    return [(key.selector, key.public_key) for key in keys]


def _backend_host(domain: Domain) -> str | None:
    return domain.mail_services.values_list("backend_host", flat=True).first()


def expected(domain: Domain) -> core.Expected:
    host = _backend_host(domain) or "default"
    clients = settings.MAIL_CLIENT_HOSTS.get(host, {})
    imap = clients.get("imap", settings.MAIL_IMAP_HOST).rstrip(".")
    smtp = clients.get("smtp", settings.MAIL_SMTP_HOST).rstrip(".")
    ours = {settings.MAIL_MX_HOST, *settings.MAIL_MX_HOSTS.values()}
    return core.Expected(
        mx_hosts=tuple(sorted(ours)), mx_target=mx_host_for(host),
        spf_include=settings.MAIL_SPF_INCLUDE, dkim=tuple(expected_dkim(domain)),
        clients={"autoconfig": ("CNAME", settings.MAIL_AUTOCONFIG_HOST.rstrip(".") + "."),
                 "autodiscover": ("CNAME", settings.MAIL_AUTODISCOVER_HOST.rstrip(".") + "."),
                 "_imaps._tcp": ("SRV", f"0 1 {settings.MAIL_IMAP_PORT} {imap}."),
                 "_submission._tcp": ("SRV", f"0 1 {settings.MAIL_SMTP_PORT} {smtp}.")},
        dmarc=settings.MAIL_DMARC_RECORD)


def run_check(domain: Domain) -> SecurityCheck:
    """Checks the domain now, as the world sees it, and caches the result."""
    findings = core.check(domain.name, dns_lookup(), expected(domain))
    check, _created = SecurityCheck.objects.update_or_create(domain=domain, defaults={
        "findings": core.findings_to_json(findings), "worst": core.worst(findings),
        "checked_at": timezone.now()})
    return check


def security_check(domain: Domain, *, refresh: bool = False) -> SecurityCheck:
    """The cached check, run first if there is none or `refresh` is asked."""
    if not refresh:
        cached = SecurityCheck.objects.filter(domain=domain).first()
        if cached is not None:
            return cached
    return run_check(domain)


def check_data(check: SecurityCheck) -> dict:
    """The check in the request's language: each finding with its fix (`applicable`: it
    can be applied to the zone here; else `record` is the one to create at the DNS host)."""
    domain = check.domain
    findings = []
    for finding in core.findings_from_json(check.findings):
        data = core.finding_data(finding, domain.name, message)
        if data["fix"] is not None:
            data["fix"]["applicable"] = domain.uses_our_dns
        findings.append(data)
    return {"domain": domain.name, "worst": check.worst, "checked_at": check.checked_at,
            "uses_our_dns": domain.uses_our_dns, "findings": findings}


def check_all() -> dict:
    """The periodic check of every domain; a domain whose lookups fail keeps its findings
    (the check reports the failure) and the next one is checked."""
    counts = {}
    for domain in Domain.objects.order_by("pk"):
        try:
            worst = run_check(domain).worst
        except Exception:  # one domain's surprise must not stop the others' checks
            log.exception("security check of %s failed", domain.name)
            worst = "failed"
        counts[worst] = counts.get(worst, 0) + 1
    return counts


def _same(rtype: str, stored: Record, value: str) -> bool:
    text = txt_text(stored.value) if rtype == "TXT" else stored.value
    return " ".join(text.split()).lower().rstrip(".") == " ".join(value.split()).lower().rstrip(".")


@transaction.atomic
def apply_fix(*, actor, domain: Domain, code: str, name: str | None = None) -> Record:
    """The record created (or, for a fix that only removes, the first removed). Applies the fix of the finding `code` (and, when several share it, the one at
    `name`) of a fresh check: the records it replaces are deleted from the zone and its
    record created, through the record service (audited, pushed). A finding the zone
    does not explain (the DNS answers from another server, or a push is pending) is a 409."""
    require(actor, CHANGE, domain.organisation_id)
    if not domain.uses_our_dns:
        raise ServiceError(gettext("%(domain)s is served by another DNS host: create the record "
                                   "shown there.") % {"domain": domain.name},
                           code="external_dns", status=409)
    findings = core.findings_from_json(run_check(domain).findings)
    wanted = name.rstrip(".").lower() if name else None
    found = [f for f in findings if f.code == code and f.fix is not None and (
        wanted is None or wanted in (f.fix.name, f"{f.fix.name}.{domain.name}"))]
    if not found:
        raise ServiceError(gettext("The check finds nothing to fix for %(code)s.") % {"code": code},
                           code="nothing_to_fix", status=404)
    fix = found[0].fix
    stored = list(Record.objects.filter(domain=domain, name=fix.name, type=fix.type))
    doomed = [r for r in stored if any(_same(fix.type, r, v) for v in fix.replaces)]
    if len(doomed) < len(fix.replaces):
        raise Conflict(gettext("The DNS does not answer what the zone holds yet (a change may "
                               "be waiting to be pushed): try again in a moment."),
                       code="zone_not_served")
    for record in doomed:
        record_delete(actor=actor, record=record)
    if not fix.value:  # only the records of other servers removed
        return doomed[0]
    return record_create(actor=actor, domain=domain, name=fix.name, type=fix.type,
                         value=fix.value)

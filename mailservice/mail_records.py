"""The DNS records a mail service needs on its domain (SPEC §6): MX, the strict SPF, DMARC,
the client-setup names, RFC 6186 SRV records and the DKIM selectors. Pure: no ORM, no
settings read except in `MailDnsSettings.from_django_settings`; the services install the
list in a zone we serve, the pages show it as "records to create" for an external one."""
from __future__ import annotations

from dataclasses import dataclass

from dnszones.zone.records import is_spf, txt_text

# Why a record is there, shown beside it.
MX, SPF, DMARC, CLIENT_SETUP, SRV, DKIM = "mx", "spf", "dmarc", "client_setup", "srv", "dkim"


@dataclass(frozen=True)
class MailDnsSettings:
    """Where the service's mail and clients go: the backend host's public MX name, our
    SPF domain, the DMARC report address, the host answering autoconfig/autodiscover,
    the public IMAP/submission host names and ports."""

    mx_host: str
    spf_include: str
    dmarc_report_address: str
    client_setup_host: str
    imap_host: str
    smtp_host: str
    imap_port: int = 993
    submission_port: int = 587
    submissions_port: int = 465

    @classmethod
    def from_django_settings(cls, backend_host: str | None = None) -> MailDnsSettings:
        """MAIL_MX_HOST (or the backend host's entry in MAIL_MX_HOSTS), MAIL_SPF_INCLUDE,
        MAIL_DMARC_REPORT_ADDRESS, MAIL_CLIENT_SETUP_HOST and the client host settings."""
        from django.conf import settings

        from .clientsetup import HostSettings

        hosts = HostSettings.from_django_settings(backend_host)
        return cls(
            mx_host=settings.MAIL_MX_HOSTS.get(backend_host or "", settings.MAIL_MX_HOST),
            spf_include=settings.MAIL_SPF_INCLUDE,
            dmarc_report_address=settings.MAIL_DMARC_REPORT_ADDRESS,
            client_setup_host=settings.MAIL_CLIENT_SETUP_HOST,
            imap_host=hosts.imap_host, smtp_host=hosts.smtp_host, imap_port=hosts.imap_port,
            submission_port=hosts.smtp_port, submissions_port=hosts.smtps_port,
        )


@dataclass(frozen=True)
class DkimPublication:
    """A DKIM key whose selector record is published: `p=` is the base64 public key."""

    selector: str
    public_key: str


@dataclass(frozen=True, order=True)
class MailRecord:
    name: str  # relative to the zone, "@" for the apex
    type: str
    value: str  # zone-file text, absolute names
    purpose: str


def _host(name: str) -> str:
    return name.strip().lower().rstrip(".") + "."


def dkim_txt(public_key: str) -> str:
    return f"v=DKIM1; k=rsa; p={public_key}"


def mail_records(hosts: MailDnsSettings, dkim=()) -> list[MailRecord]:
    """The records, in a fixed order. RFC 6186: `_imap._tcp` and `_pop3(s)._tcp` say
    "not offered" with the target "." (plain IMAP and POP3 are not served)."""
    setup = _host(hosts.client_setup_host)
    records = [
        MailRecord("@", "MX", f"10 {_host(hosts.mx_host)}", MX),
        MailRecord("@", "TXT", f"v=spf1 include:{hosts.spf_include.strip().rstrip('.')} -all", SPF),
        MailRecord("_dmarc", "TXT", f"v=DMARC1; p=none; rua=mailto:{hosts.dmarc_report_address}",
                   DMARC),
        MailRecord("autoconfig", "CNAME", setup, CLIENT_SETUP),
        MailRecord("autodiscover", "CNAME", setup, CLIENT_SETUP),
        MailRecord("_autodiscover._tcp", "SRV", f"0 0 443 {setup}", CLIENT_SETUP),
        MailRecord("_imaps._tcp", "SRV", f"0 1 {hosts.imap_port} {_host(hosts.imap_host)}", SRV),
        MailRecord("_submission._tcp", "SRV",
                   f"0 1 {hosts.submission_port} {_host(hosts.smtp_host)}", SRV),
        MailRecord("_submissions._tcp", "SRV",
                   f"0 1 {hosts.submissions_port} {_host(hosts.smtp_host)}", SRV),
        MailRecord("_imap._tcp", "SRV", "0 0 0 .", SRV),
        MailRecord("_pop3._tcp", "SRV", "0 0 0 .", SRV),
        MailRecord("_pop3s._tcp", "SRV", "0 0 0 .", SRV),
    ]
    for key in sorted(dkim, key=lambda k: k.selector):
        records.append(MailRecord(f"{key.selector}._domainkey", "TXT", dkim_txt(key.public_key),
                                  DKIM))
    return records


def kind(rtype: str, value: str) -> str:
    """What a record is for at its name: one of a kind sits there at most (one MX set of
    ours or the owner's, one SPF, one DMARC policy, one target per SRV or CNAME name)."""
    if rtype != "TXT":
        return rtype
    text = txt_text(value).strip().lower()
    if is_spf(rtype, value):
        return "spf"
    for tag in ("v=dmarc1", "v=dkim1"):
        if text == tag or text.startswith(tag + ";") or text.startswith(tag + " "):
            return tag
    return "txt:" + text


def same_kind(record: MailRecord, other_name: str, other_type: str, other_value: str) -> bool:
    """An owner's record that takes the place of ours: same name, same kind."""
    return other_name == record.name and kind(other_type, other_value) == kind(record.type,
                                                                                 record.value)

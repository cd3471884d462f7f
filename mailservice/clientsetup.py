"""Client settings of an address and the files that configure mail clients in one step
(Apple .mobileconfig, Thunderbird autoconfig, Outlook autodiscover). Pure: no ORM, no
request; the host names come in as a HostSettings value."""
import plistlib
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass

# Stable namespace for the profile UUIDs: the same address always yields the same
# PayloadUUID, so downloading the profile again updates the installed one.
PROFILE_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "mail-manager:client-setup")
PASSWORD_HINT = "a device password"

AUTODISCOVER_REQUEST_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
AUTODISCOVER_RESPONSE_NS = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
AUTODISCOVER_OUTLOOK_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
AUTODISCOVER_MAX_BYTES = 16 * 1024


@dataclass(frozen=True)
class HostSettings:
    """Where clients connect: the public IMAP/SMTP host names and ports."""

    imap_host: str
    smtp_host: str
    imap_port: int = 993
    smtp_port: int = 587
    smtps_port: int = 465

    @classmethod
    def from_django_settings(cls, backend_host: str | None = None) -> "HostSettings":
        """MAIL_IMAP_HOST / MAIL_SMTP_HOST and ports; a deployment with several backend
        hosts may name each one's public host names in MAIL_CLIENT_HOSTS
        ({backend_host: {"imap": …, "smtp": …}})."""
        from django.conf import settings

        per_backend = getattr(settings, "MAIL_CLIENT_HOSTS", {}).get(backend_host or "", {})
        return cls(
            imap_host=per_backend.get("imap", settings.MAIL_IMAP_HOST),
            smtp_host=per_backend.get("smtp", settings.MAIL_SMTP_HOST),
            imap_port=settings.MAIL_IMAP_PORT,
            smtp_port=settings.MAIL_SMTP_PORT,
            smtps_port=settings.MAIL_SMTPS_PORT,
        )


@dataclass(frozen=True)
class ServerSettings:
    protocol: str  # "imap" | "smtp"
    host: str
    port: int
    security: str  # "SSL/TLS" (implicit TLS) | "STARTTLS"


@dataclass(frozen=True)
class ClientSettings:
    """What a person types into a mail client for one address (SPEC §2)."""

    email: str
    display_name: str
    username: str
    password: str  # never a real password: the hint that a device password is needed
    incoming: ServerSettings
    outgoing: ServerSettings
    outgoing_fallback: ServerSettings
    can_send: bool  # the catchall receives only

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2]

    def as_dict(self) -> dict:
        def server(s: ServerSettings) -> dict:
            return {"protocol": s.protocol, "host": s.host, "port": s.port, "security": s.security}

        return {
            "email": self.email,
            "display_name": self.display_name,
            "username": self.username,
            "password": self.password,
            "incoming": server(self.incoming),
            "outgoing": server(self.outgoing),
            "outgoing_fallback": server(self.outgoing_fallback),
            "can_send": self.can_send,
        }


def client_settings(email: str, display_name: str, hosts: HostSettings, *,
                    can_send: bool = True) -> ClientSettings:
    return ClientSettings(
        email=email,
        display_name=display_name or "",
        username=email,
        password=PASSWORD_HINT,
        incoming=ServerSettings("imap", hosts.imap_host, hosts.imap_port, "SSL/TLS"),
        outgoing=ServerSettings("smtp", hosts.smtp_host, hosts.smtp_port, "STARTTLS"),
        outgoing_fallback=ServerSettings("smtp", hosts.smtp_host, hosts.smtps_port, "SSL/TLS"),
        can_send=can_send,
    )


def for_address(address) -> ClientSettings:
    """The settings of an Address (its service's backend host decides the host names)."""
    hosts = HostSettings.from_django_settings(address.mail_service.backend_host)
    return client_settings(address.email, address.display_name, hosts,
                           can_send=not address.is_catchall)


# --- Apple configuration profile -------------------------------------------------------

def profile_uuid(email: str, part: str = "profile") -> str:
    return str(uuid.uuid5(PROFILE_NAMESPACE, f"{part}:{email.lower()}")).upper()


def profile_identifier(email: str) -> str:
    domain = email.rpartition("@")[2].lower()
    reversed_domain = ".".join(reversed(domain.split(".")))
    return f"{reversed_domain}.mailmanager.{profile_uuid(email)}"


def mobileconfig_filename(email: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]", "_", email) + ".mobileconfig"


def render_mobileconfig(cs: ClientSettings) -> bytes:
    """An unsigned configuration profile with one com.apple.mail.managed payload. It holds
    no password: the device asks for it (a device password) when installing."""
    identifier = profile_identifier(cs.email)
    account = {
        "PayloadType": "com.apple.mail.managed",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{identifier}.mail",
        "PayloadUUID": profile_uuid(cs.email, "mail"),
        "PayloadDisplayName": cs.email,
        "PayloadDescription": f"Mail account {cs.email}",
        "EmailAccountDescription": cs.email,
        "EmailAccountName": cs.display_name or cs.email,
        "EmailAccountType": "EmailTypeIMAP",
        "EmailAddress": cs.email,
        "IncomingMailServerHostName": cs.incoming.host,
        "IncomingMailServerPortNumber": cs.incoming.port,
        "IncomingMailServerUseSSL": True,
        "IncomingMailServerAuthentication": "EmailAuthPassword",
        "IncomingMailServerUsername": cs.username,
        "OutgoingMailServerHostName": cs.outgoing.host,
        "OutgoingMailServerPortNumber": cs.outgoing.port,
        # On 587 Apple Mail negotiates STARTTLS when SSL is on.
        "OutgoingMailServerUseSSL": True,
        "OutgoingMailServerAuthentication": "EmailAuthPassword",
        "OutgoingMailServerUsername": cs.username,
        "OutgoingPasswordSameAsIncomingPassword": True,
        "PreventMove": False,
        "PreventAppSheet": False,
        "SMIMEEnabled": False,
    }
    profile = {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": identifier,
        "PayloadUUID": profile_uuid(cs.email),
        "PayloadDisplayName": f"Mail: {cs.email}",
        "PayloadDescription": f"Configures the mail account {cs.email}. Enter a device password "
                              "when asked.",
        "PayloadRemovalDisallowed": False,
        "PayloadContent": [account],
    }
    return plistlib.dumps(profile, fmt=plistlib.FMT_XML, sort_keys=True)


# --- Thunderbird autoconfig ------------------------------------------------------------

def _sub(parent, tag, text=None, **attrs):
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = str(text)
    return element


def _xml(root) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def render_autoconfig(domain: str, hosts: HostSettings, *, display_name: str = "") -> bytes:
    """clientConfig v1.1: IMAP 993 SSL; SMTP 587 STARTTLS first, 465 SSL as fallback."""
    root = ET.Element("clientConfig", version="1.1")
    provider = _sub(root, "emailProvider", id=domain)
    _sub(provider, "domain", domain)
    _sub(provider, "displayName", display_name or f"Mail {domain}")
    _sub(provider, "displayShortName", domain)
    incoming = _sub(provider, "incomingServer", type="imap")
    for tag, value in (("hostname", hosts.imap_host), ("port", hosts.imap_port),
                       ("socketType", "SSL"), ("authentication", "password-cleartext"),
                       ("username", "%EMAILADDRESS%")):
        _sub(incoming, tag, value)
    for port, socket_type in ((hosts.smtp_port, "STARTTLS"), (hosts.smtps_port, "SSL")):
        outgoing = _sub(provider, "outgoingServer", type="smtp")
        for tag, value in (("hostname", hosts.smtp_host), ("port", port),
                           ("socketType", socket_type), ("authentication", "password-cleartext"),
                           ("username", "%EMAILADDRESS%")):
            _sub(outgoing, tag, value)
    return _xml(root)


# --- Outlook autodiscover --------------------------------------------------------------

class AutodiscoverRequestError(ValueError):
    """The request body is not an autodiscover request we accept."""


_FORBIDDEN_MARKUP = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_EMAIL = re.compile(r"^[^@\s<>\"]{1,64}@[A-Za-z0-9.-]{1,253}$")


def parse_autodiscover_request(body: bytes) -> str:
    """The EMailAddress of an Outlook POX autodiscover request, lower-cased. Refuses any
    DTD or entity declaration (billion laughs, external entities) before parsing."""
    if not body or len(body) > AUTODISCOVER_MAX_BYTES:
        raise AutodiscoverRequestError("empty or oversized request")
    if _FORBIDDEN_MARKUP.search(body):
        raise AutodiscoverRequestError("DTDs and entity declarations are not accepted")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise AutodiscoverRequestError(f"malformed XML: {exc}") from exc
    # Accept the element with or without the request namespace.
    element = root.find(f".//{{{AUTODISCOVER_REQUEST_NS}}}EMailAddress")
    if element is None:
        element = root.find(".//EMailAddress")
    email = (element.text or "").strip() if element is not None else ""
    if not _EMAIL.match(email):
        raise AutodiscoverRequestError("no valid EMailAddress in the request")
    return email.lower()


def render_autodiscover(cs: ClientSettings) -> bytes:
    """The POX response (outlook responseschema 2006a) with an IMAP and an SMTP protocol."""
    root = ET.Element("Autodiscover", xmlns=AUTODISCOVER_RESPONSE_NS)
    response = _sub(root, "Response", xmlns=AUTODISCOVER_OUTLOOK_NS)
    user = _sub(response, "User")
    _sub(user, "DisplayName", cs.display_name or cs.email)
    account = _sub(response, "Account")
    _sub(account, "AccountType", "email")
    _sub(account, "Action", "settings")
    imap = _sub(account, "Protocol")
    for tag, value in (("Type", "IMAP"), ("Server", cs.incoming.host), ("Port", cs.incoming.port),
                       ("DomainRequired", "off"), ("LoginName", cs.username), ("SPA", "off"),
                       ("SSL", "on"), ("AuthRequired", "on")):
        _sub(imap, tag, value)
    smtp = _sub(account, "Protocol")
    for tag, value in (("Type", "SMTP"), ("Server", cs.outgoing.host), ("Port", cs.outgoing.port),
                       ("DomainRequired", "off"), ("LoginName", cs.username), ("SPA", "off"),
                       ("Encryption", "TLS"), ("AuthRequired", "on"), ("UsePOPAuth", "off"),
                       ("SMTPLast", "off")):
        _sub(smtp, tag, value)
    return _xml(root)


def render_autodiscover_error(message: str, code: int = 600) -> bytes:
    """The POX error answer (600 = invalid request)."""
    root = ET.Element("Autodiscover", xmlns=AUTODISCOVER_RESPONSE_NS)
    error = _sub(_sub(root, "Response"), "Error")
    _sub(error, "ErrorCode", code)
    _sub(error, "Message", message)
    return _xml(root)


# --- Downloads -------------------------------------------------------------------------

MOBILECONFIG_TYPE = "application/x-apple-aspen-config"


def attachment(filename: str) -> str:
    """A Content-Disposition value; the filename is already restricted to safe characters."""
    return f'attachment; filename="{filename}"'

"""Client settings of an address: the pure settings, the API, the Apple profile, Thunderbird
autoconfig, Outlook autodiscover and the client setup page."""
import plistlib
import xml.etree.ElementTree as ET

import pytest
from rest_framework.test import APIClient

from mailservice import clientsetup, services
from tests.api.access import assert_access_rules
from tests.factories import grant, make_address, make_mail_service

pytestmark = pytest.mark.django_db

HOSTS = clientsetup.HostSettings(imap_host="imap.example.net", smtp_host="smtp.example.net")
AUTOCONFIG = "/.well-known/autoconfig/mail/config-v1.1.xml"
AUTODISCOVER = "/autodiscover/autodiscover.xml"
AD_REQUEST_NS = clientsetup.AUTODISCOVER_REQUEST_NS
AD_NS = f"{{{clientsetup.AUTODISCOVER_OUTLOOK_NS}}}"


def autodiscover_request(email: str) -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="{AD_REQUEST_NS}">'
            f"<Request><EMailAddress>{email}</EMailAddress><AcceptableResponseSchema>"
            f"{clientsetup.AUTODISCOVER_OUTLOOK_NS}</AcceptableResponseSchema></Request>"
            "</Autodiscover>").encode()


@pytest.fixture(autouse=True)
def _mail_hosts(settings):
    settings.MAIL_IMAP_HOST = "imap.example.net"
    settings.MAIL_SMTP_HOST = "smtp.example.net"
    settings.MAIL_IMAP_PORT, settings.MAIL_SMTP_PORT, settings.MAIL_SMTPS_PORT = 993, 587, 465


@pytest.fixture
def service(owner, organisation):
    return make_mail_service(owner, organisation, "setup.example")


@pytest.fixture
def address(owner, service):
    # Markup characters in the display name: every rendering must escape them.
    return make_address(owner, service, "carol", display_name="Carol <Ops> & Co")


def test_settings_follow_the_guide():
    cs = clientsetup.client_settings("carol@setup.example", "Carol", HOSTS)
    assert (cs.incoming.host, cs.incoming.port, cs.incoming.security) == ("imap.example.net", 993, "SSL/TLS")
    assert (cs.outgoing.host, cs.outgoing.port, cs.outgoing.security) == ("smtp.example.net", 587, "STARTTLS")
    assert (cs.outgoing_fallback.port, cs.outgoing_fallback.security) == (465, "SSL/TLS")
    assert cs.username == "carol@setup.example"
    assert cs.password == "a device password"


def test_profile_identifiers_are_stable_per_address():
    first = clientsetup.render_mobileconfig(clientsetup.client_settings("a@x.example", "", HOSTS))
    again = clientsetup.render_mobileconfig(clientsetup.client_settings("a@x.example", "A", HOSTS))
    other = clientsetup.render_mobileconfig(clientsetup.client_settings("b@x.example", "", HOSTS))
    ids = [(p["PayloadUUID"], p["PayloadIdentifier"], p["PayloadContent"][0]["PayloadUUID"])
           for p in map(plistlib.loads, (first, again, other))]
    assert ids[0] == ids[1] != ids[2]
    assert ids[0][1].startswith("example.x.")


def test_autoconfig_escapes_what_it_is_given():
    body = clientsetup.render_autoconfig("x.example", HOSTS, display_name="<b>&\"'")
    root = ET.fromstring(body)
    assert root.find("emailProvider/displayName").text == "<b>&\"'"


# --- API -------------------------------------------------------------------------------

def test_client_config_access_rules(api, address, member, outsider, other_organisation):
    assert_access_rules(api=api, member=member, outsider=outsider,
                        detail_url=f"/api/v1/addresses/{address.pk}/client-config/")
    assert_access_rules(api=api, member=member, outsider=outsider,
                        detail_url=f"/api/v1/addresses/{address.pk}/client-config/mobileconfig/")


def test_outsider_gets_404_for_an_address_of_another_organisation(api, owner, foreign_address):
    response = api(owner).get(f"/api/v1/addresses/{foreign_address.pk}/client-config/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_user_of_the_address_who_reads_or_sends_sees_the_settings(api, owner, member, address):
    url = f"/api/v1/addresses/{address.pk}/client-config/"
    assert api(member).get(url).status_code == 404  # a member who doesn't use the address
    access = grant(owner, address, member, ["manage_rules"])
    response = api(member).get(url)
    assert response.status_code == 403 and "“Read mail” or “Send mail”" in response.json()["error"]["message"]
    services.access_update(actor=owner, access=access, permissions=["send"])
    response = api(member).get(url)
    assert response.status_code == 200
    body = response.json()
    assert body["address"] == address.pk
    assert body["username"] == "carol@setup.example"
    assert body["password"] == "a device password"
    assert body["incoming"] == {"protocol": "imap", "host": "imap.example.net", "port": 993,
                                "security": "SSL/TLS"}
    assert body["outgoing"] == {"protocol": "smtp", "host": "smtp.example.net", "port": 587,
                                "security": "STARTTLS"}
    assert body["outgoing_fallback"]["port"] == 465
    assert body["can_send"] is True
    assert body["downloads"]["mobileconfig"].endswith(f"/addresses/{address.pk}/client-config/mobileconfig/")
    assert "emailaddress=carol%40setup.example" in body["downloads"]["autoconfig"]


def test_catchall_settings_say_it_cannot_send(api, owner, service):
    catchall = services.address_create(actor=owner, service=service, local_part="catchall")
    body = api(owner).get(f"/api/v1/addresses/{catchall.pk}/client-config/").json()
    assert body["can_send"] is False


def test_host_names_come_from_the_settings_of_the_backend_host(api, owner, settings, service, address):
    service.backend_host = "eu-2"
    service.save()
    settings.MAIL_CLIENT_HOSTS = {"eu-2": {"imap": "imap.eu-2.example.net", "smtp": "smtp.eu-2.example.net"}}
    body = api(owner).get(f"/api/v1/addresses/{address.pk}/client-config/").json()
    assert body["incoming"]["host"] == "imap.eu-2.example.net"
    assert body["outgoing"]["host"] == "smtp.eu-2.example.net"


def test_mobileconfig_is_a_profile_without_password(api, owner, address):
    response = api(owner).get(f"/api/v1/addresses/{address.pk}/client-config/mobileconfig/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-apple-aspen-config"
    assert response["Content-Disposition"] == 'attachment; filename="carol@setup.example.mobileconfig"'
    profile = plistlib.loads(response.content)
    assert profile["PayloadType"] == "Configuration"
    (mail,) = profile["PayloadContent"]
    assert mail["PayloadType"] == "com.apple.mail.managed"
    assert mail["EmailAccountType"] == "EmailTypeIMAP"
    assert mail["EmailAddress"] == "carol@setup.example"
    assert mail["EmailAccountName"] == "Carol <Ops> & Co"
    assert (mail["IncomingMailServerHostName"], mail["IncomingMailServerPortNumber"]) == ("imap.example.net", 993)
    assert mail["IncomingMailServerUseSSL"] is True
    assert mail["IncomingMailServerUsername"] == mail["OutgoingMailServerUsername"] == "carol@setup.example"
    assert (mail["OutgoingMailServerPortNumber"], mail["OutgoingMailServerUseSSL"]) == (587, True)
    assert not any("Password" in key and key != "OutgoingPasswordSameAsIncomingPassword" for key in mail)
    assert b"<key>IncomingPassword</key>" not in response.content


def test_mobileconfig_accepts_its_own_media_type(api, owner, address):
    response = api(owner).get(f"/api/v1/addresses/{address.pk}/client-config/mobileconfig/",
                              HTTP_ACCEPT="application/x-apple-aspen-config")
    assert response.status_code == 200
    plistlib.loads(response.content)


# --- Thunderbird autoconfig ------------------------------------------------------------

@pytest.mark.parametrize("url", [AUTOCONFIG, "/mail/config-v1.1.xml"])
def test_autoconfig_is_public_and_names_the_ports(url, address):
    response = APIClient().get(url, {"emailaddress": "Anyone@Setup.example"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "clientConfig" and root.get("version") == "1.1"
    provider = root.find("emailProvider")
    assert provider.find("domain").text == "setup.example"
    incoming = provider.find("incomingServer")
    assert incoming.get("type") == "imap"
    assert [incoming.find(t).text for t in ("hostname", "port", "socketType", "username")] == [
        "imap.example.net", "993", "SSL", "%EMAILADDRESS%"]
    outgoing = [(o.find("port").text, o.find("socketType").text) for o in provider.findall("outgoingServer")]
    assert outgoing == [("587", "STARTTLS"), ("465", "SSL")]


def test_autoconfig_answers_the_same_for_unknown_addresses_of_a_served_domain(client, address):
    known = client.get(AUTOCONFIG, {"emailaddress": "carol@setup.example"})
    unknown = client.get(AUTOCONFIG, {"emailaddress": "nobody@setup.example"})
    assert known.status_code == unknown.status_code == 200
    assert known.content == unknown.content


def test_autoconfig_is_404_for_a_domain_we_do_not_serve(client, address):
    assert client.get(AUTOCONFIG, {"emailaddress": "x@not-ours.example"}).status_code == 404


def test_autoconfig_host_form_uses_the_host_name(client, settings, address):
    settings.ALLOWED_HOSTS = ["autoconfig.setup.example", "autoconfig.not-ours.example"]
    response = client.get("/mail/config-v1.1.xml", HTTP_HOST="autoconfig.setup.example")
    assert response.status_code == 200
    assert b"<domain>setup.example</domain>" in response.content
    response = client.get("/mail/config-v1.1.xml", HTTP_HOST="autoconfig.not-ours.example")
    assert response.status_code == 404


# --- Outlook autodiscover --------------------------------------------------------------

@pytest.mark.parametrize("url", [AUTODISCOVER, "/Autodiscover/Autodiscover.xml"])
def test_autodiscover_answers_imap_and_smtp(url, address):
    client = APIClient(enforce_csrf_checks=True)
    response = client.post(url, autodiscover_request("carol@setup.example"), content_type="text/xml")
    assert response.status_code == 200, response.content
    root = ET.fromstring(response.content)
    assert root.tag == f"{{{clientsetup.AUTODISCOVER_RESPONSE_NS}}}Autodiscover"
    protocols = {p.find(f"{AD_NS}Type").text: p for p in root.iter(f"{AD_NS}Protocol")}
    imap, smtp = protocols["IMAP"], protocols["SMTP"]
    assert (imap.find(f"{AD_NS}Port").text, imap.find(f"{AD_NS}SSL").text) == ("993", "on")
    assert imap.find(f"{AD_NS}Server").text == "imap.example.net"
    assert (smtp.find(f"{AD_NS}Port").text, smtp.find(f"{AD_NS}Encryption").text) == ("587", "TLS")
    assert smtp.find(f"{AD_NS}LoginName").text == "carol@setup.example"


def test_autodiscover_is_404_for_a_domain_we_do_not_serve(client, address):
    response = client.post(AUTODISCOVER, autodiscover_request("x@not-ours.example"), content_type="text/xml")
    assert response.status_code == 404


@pytest.mark.parametrize("body", [b"", b"<Autodiscover><Request>", b"not xml at all",
                                  b"<Autodiscover><Request><EMailAddress>nope</EMailAddress></Request></Autodiscover>"])
def test_autodiscover_is_400_on_malformed_requests(client, address, body):
    response = client.post(AUTODISCOVER, body, content_type="text/xml")
    assert response.status_code == 400
    assert ET.fromstring(response.content).find(".//{*}ErrorCode").text == "600"


@pytest.mark.parametrize("body", [
    # billion laughs
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
    b"<Autodiscover><Request><EMailAddress>&lol2;@setup.example</EMailAddress></Request></Autodiscover>",
    # external entity
    b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b"<Autodiscover><Request><EMailAddress>carol@setup.example&xxe;</EMailAddress></Request></Autodiscover>",
    b'<!doctype Autodiscover><Autodiscover><Request><EMailAddress>carol@setup.example</EMailAddress>'
    b"</Request></Autodiscover>",
])
def test_autodiscover_refuses_dtds_and_entities(client, address, body):
    response = client.post(AUTODISCOVER, body, content_type="text/xml")
    assert response.status_code == 400
    assert b"passwd" not in response.content and b"root:" not in response.content


def test_autodiscover_get_is_not_allowed(client):
    assert client.get(AUTODISCOVER).status_code == 405


# --- the page --------------------------------------------------------------------------

def test_setup_page_renders_for_the_owner(client, owner, address):
    client.force_login(owner)
    response = client.get(f"/mail/addresses/{address.pk}/setup/")
    assert response.status_code == 200
    page = response.content.decode()
    for text in ("imap.example.net", "993", "587", "STARTTLS", "465", "carol@setup.example",
                 "device password", f"/mail/addresses/{address.pk}/setup/mobileconfig/",
                 "emailaddress=carol%40setup.example"):
        assert text in page, text


def test_setup_page_download_is_a_profile(client, owner, address):
    client.force_login(owner)
    response = client.get(f"/mail/addresses/{address.pk}/setup/mobileconfig/")
    assert response.status_code == 200
    assert plistlib.loads(response.content)["PayloadContent"][0]["IncomingMailServerPortNumber"] == 993


def test_setup_page_is_404_for_an_outsider(client, outsider, other_organisation, address):
    client.force_login(outsider)
    assert client.get(f"/mail/addresses/{address.pk}/setup/").status_code == 404
    assert client.get(f"/mail/addresses/{address.pk}/setup/mobileconfig/").status_code == 404


def test_setup_page_requires_login(client, address):
    response = client.get(f"/mail/addresses/{address.pk}/setup/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]

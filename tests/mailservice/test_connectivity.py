"""The connectivity check against small local servers started by the tests (127.0.0.1, free
ports): a banner, SMTP with and without STARTTLS, implicit TLS, a refused port and a port
that never answers; then the API and the page, which only ever test hosts from settings."""
import os
import shutil
import socket
import socketserver
import ssl
import subprocess
import threading

import pytest
from rest_framework.test import APIClient

from mailservice import connectivity, services
from mailservice.connectivity import Target

pytestmark = pytest.mark.django_db

IMAP_BANNER = b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] Dovecot ready.\r\n"
SMTP_BANNER = b"220 mx.test ESMTP Postfix\r\n"
EHLO_WITH_STARTTLS = b"250-mx.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
EHLO_WITHOUT_STARTTLS = b"250-mx.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"


class MailHandler(socketserver.StreamRequestHandler):
    """Greets, answers EHLO if it has an answer, says goodbye to QUIT / LOGOUT."""

    timeout = 5

    def handle(self):
        server = self.server
        if server.tls_context is not None:
            self.connection = server.tls_context.wrap_socket(self.connection, server_side=True)
            self.rfile = self.connection.makefile("rb")
            self.wfile = self.connection.makefile("wb", buffering=0)
        self.wfile.write(server.banner)
        for line in self.rfile:
            command = line.strip().upper()
            if command.startswith(b"EHLO") and server.ehlo_reply:
                self.wfile.write(server.ehlo_reply)
            elif command == b"QUIT":
                self.wfile.write(b"221 2.0.0 Bye\r\n")
                return
            elif command.endswith(b"LOGOUT"):
                self.wfile.write(b"* BYE Logging out\r\na1 OK Logout completed.\r\n")
                return


class MailServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, banner, ehlo_reply=None, tls_context=None):
        super().__init__(("127.0.0.1", 0), MailHandler)
        self.banner, self.ehlo_reply, self.tls_context = banner, ehlo_reply, tls_context

    def handle_error(self, request, client_address):
        pass  # a client that drops the TLS handshake on purpose is not a test failure

    @property
    def port(self):
        return self.server_address[1]


@pytest.fixture
def start_server():
    servers = []

    def start(banner, ehlo_reply=None, tls_context=None):
        server = MailServer(banner, ehlo_reply, tls_context)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return server.port

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def closed_port():
    """A port where nothing listens: connecting is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def silent_port():
    """Accepts connections (kernel backlog) but never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield listener.getsockname()[1]
    listener.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (openssl CLI)."""
    if not shutil.which("openssl"):
        message = "openssl is needed to make a test certificate: run scripts/install-system-packages.sh"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@pytest.fixture
def tls_server_context(certificate):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


def trusting(certificate):
    return ssl.create_default_context(cafile=str(certificate[0]))


# --- the checks ------------------------------------------------------------------------

def test_imap_banner_is_ok(start_server):
    port = start_server(IMAP_BANNER)
    result = connectivity.check(Target("127.0.0.1", port, "imap", "none"), timeout=2)
    assert result.verdict == "ok", result
    assert result.message.startswith(f"Port {port} answered: * OK")
    assert result.banner.startswith("* OK")


def test_smtp_offering_starttls_is_ok(start_server):
    port = start_server(SMTP_BANNER, EHLO_WITH_STARTTLS)
    result = connectivity.check(Target("127.0.0.1", port, "smtp", "starttls"), timeout=2)
    assert result.verdict == "ok", result
    assert result.message == f"Port {port} answered: 220 mx.test ESMTP Postfix and offers STARTTLS."


def test_smtp_without_starttls_is_a_warning(start_server):
    port = start_server(SMTP_BANNER, EHLO_WITHOUT_STARTTLS)
    result = connectivity.check(Target("127.0.0.1", port, "smtp", "starttls"), timeout=2)
    assert result.verdict == "warning", result
    assert "does not offer STARTTLS" in result.message


def test_a_refused_port_is_an_error(closed_port):
    result = connectivity.check(Target("127.0.0.1", closed_port, "imap", "implicit"), timeout=2)
    assert result.verdict == "error"
    assert result.message.startswith(f"Connection refused on {closed_port}")


def test_a_refused_fallback_port_is_only_a_warning(closed_port):
    result = connectivity.check(Target("127.0.0.1", closed_port, "smtp", "implicit", required=False),
                                timeout=2)
    assert result.verdict == "warning"
    assert "only a fallback" in result.message


def test_silence_is_a_timeout(silent_port):
    result = connectivity.check(Target("127.0.0.1", silent_port, "smtp", "starttls"), timeout=0.3)
    assert result.verdict == "error"
    assert result.message.startswith("No answer within 0.3 s")
    assert result.elapsed_ms < 2000


def test_silence_on_a_tls_port_is_a_timeout(silent_port):
    result = connectivity.check(Target("127.0.0.1", silent_port, "imap", "implicit"), timeout=0.3)
    assert result.verdict == "error"
    assert result.message.startswith("No answer within 0.3 s")


def test_a_wrong_greeting_is_a_warning(start_server):
    port = start_server(b"SSH-2.0-OpenSSH_9.6\r\n")
    result = connectivity.check(Target("127.0.0.1", port, "imap", "none"), timeout=2)
    assert result.verdict == "warning"
    assert "not like an IMAP server" in result.message


def test_plain_text_on_a_tls_port_fails_the_handshake(start_server):
    port = start_server(IMAP_BANNER)
    result = connectivity.check(Target("127.0.0.1", port, "imap", "implicit"), timeout=2)
    assert result.verdict == "error"
    assert result.message.startswith(f"TLS handshake failed on {port}")


def test_untrusted_certificate_is_reported_readably(start_server, tls_server_context):
    port = start_server(IMAP_BANNER, tls_context=tls_server_context)
    result = connectivity.check(Target("127.0.0.1", port, "imap", "implicit"), timeout=2)
    assert result.verdict == "error"
    assert result.message.startswith("The TLS certificate of 127.0.0.1 is not trusted:")
    assert "self-signed" in result.message or "self signed" in result.message


def test_trusted_tls_port_is_ok(start_server, tls_server_context, certificate):
    port = start_server(IMAP_BANNER, tls_context=tls_server_context)
    result = connectivity.check(Target("127.0.0.1", port, "imap", "implicit"), timeout=2,
                                ssl_context=trusting(certificate))
    assert result.verdict == "ok", result
    assert result.message.startswith(f"Port {port} answered over TLSv1.")


def test_checks_run_in_parallel(silent_port):
    targets = [Target("127.0.0.1", silent_port, "smtp", "starttls")] * 3
    results = connectivity.run_checks(targets, timeout=0.4)
    assert [r.verdict for r in results] == ["error"] * 3
    assert connectivity.overall_verdict(results) == "error"
    assert max(r.elapsed_ms for r in results) < 1500


# --- API and page ----------------------------------------------------------------------

@pytest.fixture
def mail_hosts(settings, monkeypatch, start_server, tls_server_context, certificate, closed_port):
    """Settings point at local servers: IMAP TLS (trusted through SSL_CERT_FILE, which
    the default context reads), SMTP 587 with STARTTLS, and nothing on 465."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    settings.MAIL_IMAP_HOST = settings.MAIL_SMTP_HOST = "127.0.0.1"
    settings.MAIL_IMAP_PORT = start_server(IMAP_BANNER, tls_context=tls_server_context)
    settings.MAIL_SMTP_PORT = start_server(SMTP_BANNER, EHLO_WITH_STARTTLS)
    settings.MAIL_SMTPS_PORT = closed_port
    settings.MAIL_CONNECTIVITY_TIMEOUT = 2
    return settings


URL = "/api/v1/tools/connectivity-check/"


def test_api_checks_the_hosts_from_settings(api, owner, mail_hosts):
    response = api(owner).post(URL, {}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["mail_service"] is None
    verdicts = [(r["port"], r["protocol"], r["tls"], r["verdict"]) for r in body["results"]]
    assert verdicts == [
        (mail_hosts.MAIL_IMAP_PORT, "imap", "implicit", "ok"),
        (mail_hosts.MAIL_SMTP_PORT, "smtp", "starttls", "ok"),
        (mail_hosts.MAIL_SMTPS_PORT, "smtp", "implicit", "warning"),
    ], body
    assert body["verdict"] == "warning"
    assert "offers STARTTLS" in body["results"][1]["message"]


def test_api_never_tests_a_host_given_in_the_request(api, owner, mail_hosts, start_server):
    # A host or port in the body is refused as unknown, not read: the check only ever
    # connects to the product's own published hosts.
    elsewhere = start_server(SMTP_BANNER)
    response = api(owner).post(URL, {"host": "10.0.0.1", "port": elsewhere}, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "unknown_field"
    assert set(error["fields"]) == {"host", "port"}
    body = api(owner).post(URL, {}, format="json").json()
    assert {r["host"] for r in body["results"]} == {"127.0.0.1"}
    assert elsewhere not in {r["port"] for r in body["results"]}


def test_api_for_a_mail_service(api, owner, organisation, mail_hosts):
    service = services.mail_service_create(actor=owner, organisation=organisation,
                                           domain="check.example", plan="premium")
    response = api(owner).post(URL, {"mail_service": service.pk}, format="json")
    assert response.status_code == 200
    assert response.json()["mail_service"] == service.pk


def test_api_404_for_a_mail_service_of_another_organisation(api, owner, outsider, other_organisation, mail_hosts):
    foreign = services.mail_service_create(actor=outsider, organisation=other_organisation,
                                           domain="foreign.example", plan="premium")
    response = api(owner).post(URL, {"mail_service": foreign.pk}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_api_requires_authentication(mail_hosts):
    response = APIClient().post(URL, {}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_connectivity_page_renders(client, owner, organisation):
    client.force_login(owner)
    response = client.get("/mail/tools/connectivity/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'hx-post="/mail/tools/connectivity/"' in page and 'hx-target="#connectivity-result"' in page


def test_connectivity_page_htmx_post_swaps_in_the_result(client, owner, organisation, mail_hosts):
    client.force_login(owner)
    response = client.post("/mail/tools/connectivity/", {"mail_service": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    fragment = response.content.decode()
    assert "<html" not in fragment
    assert "offers STARTTLS" in fragment and "only a fallback" in fragment


def test_connectivity_page_post_without_htmx_shows_the_whole_page(client, owner, organisation, mail_hosts):
    client.force_login(owner)
    response = client.post("/mail/tools/connectivity/", {})
    assert response.status_code == 200
    assert "<html" in response.content.decode() and "offers STARTTLS" in response.content.decode()


def test_connectivity_page_refuses_another_organisations_service(client, owner, outsider, other_organisation,
                                                                  mail_hosts):
    foreign = services.mail_service_create(actor=outsider, organisation=other_organisation,
                                           domain="foreign.example", plan="premium")
    client.force_login(owner)
    response = client.post("/mail/tools/connectivity/", {"mail_service": foreign.pk})
    assert response.status_code == 400
    assert "offers STARTTLS" not in response.content.decode()

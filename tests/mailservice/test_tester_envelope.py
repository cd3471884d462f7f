"""The tester runs with the envelope delivery gives: the recipient is the address itself
(a rule on the envelope recipient matches mail that reached it through a list), the sender
the message's Return-Path; and the Sieve extensions are the mail stack's
(vacation-seconds included)."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sieve_test")]

THROUGH_A_LIST = (b"Return-Path: <bounce@lists.example>\r\nFrom: Someone <someone@example.org>\r\n"
                  b"To: team@lists.example\r\nSubject: weekly\r\nMessage-ID: <w@example.org>\r\n"
                  b"\r\nhello\r\n")


def advanced(api, owner, alice, script):
    response = api(owner).put(f"/api/v1/addresses/{alice.pk}/sieve/",
                              {"mode": "advanced", "script": script}, format="json")
    assert response.status_code == 200, response.content


def run(api, owner, alice, message=THROUGH_A_LIST):
    response = api(owner).post(f"/api/v1/addresses/{alice.pk}/rules/test/",
                               {"message": SimpleUploadedFile("m.eml", message)}, format="multipart")
    assert response.status_code == 200, response.content
    return response.json()


def test_the_envelope_recipient_is_the_address(api, owner, alice):
    advanced(api, owner, alice, 'require ["envelope", "fileinto"];\n'
                                'if envelope :is "to" "alice@domain.xyz" { fileinto "Mine"; }\n')
    result = run(api, owner, alice)
    assert result["folders"] == ["Mine"]
    assert result["envelope"] == {"to": "alice@domain.xyz", "from": "bounce@lists.example"}


def test_the_envelope_sender_is_the_return_path(api, owner, alice):
    advanced(api, owner, alice, 'require ["envelope", "fileinto"];\n'
                                'if envelope :is "from" "bounce@lists.example" { fileinto "Lists"; }\n')
    assert run(api, owner, alice)["folders"] == ["Lists"]


def test_vacation_seconds_is_enabled_as_on_the_mail_stack(api, owner, alice):
    advanced(api, owner, alice, 'require ["vacation", "vacation-seconds"];\n'
                                'vacation :seconds 86400 :subject "Away" "Back soon";\n')
    result = run(api, owner, alice)
    assert [a["kind"] for a in result["final_actions"]][:1] == ["vacation"]


def test_the_page_says_which_envelope_it_used(client, owner, alice):
    client.force_login(owner)
    response = client.post(f"/mail/addresses/{alice.pk}/rules/test/",
                           {"message": SimpleUploadedFile("m.eml", THROUGH_A_LIST)})
    assert response.status_code == 200
    assert "As delivered to alice@domain.xyz (envelope sender: bounce@lists.example)." in \
        response.content.decode()

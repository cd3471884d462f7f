"""Sending a failed phishing report again: back to queued with its error cleared, audited,
sent once by the same task (a duplicate delivery meets its claim); only a failed report, only
for its organisation's managers and its reporter, another organisation's a 404."""
import pytest

from mailtools.models import PhishingReport
from mailtools.services import phishing_report_create, phishing_report_send
from manager.audit.models import AuditEntry
from tests.factories import add_member, make_user

pytestmark = pytest.mark.django_db
URL = "/api/v1/tools/phishing-reports/"
MESSAGE = b"From: Bank <security@bank.example>\r\nSubject: Verify your account\r\n\r\nClick\r\n"


class DownRelay:
    """Stands for a relay that refuses the connection."""

    def send_messages(self, messages):
        raise ConnectionRefusedError("[Errno 111] Connection refused")


def failed_report(actor, organisation, monkeypatch):
    report = phishing_report_create(actor=actor, organisation=organisation, original=MESSAGE)
    with monkeypatch.context() as patch:
        patch.setattr("mailtools.services.reports.get_connection", lambda: DownRelay())
        report = phishing_report_send(report.pk)
    assert report.state == "failed" and "Connection refused" in report.error
    return report


def test_a_failed_report_is_sent_again_once(api, owner, organisation, mailoutbox, monkeypatch,
                                            settings, django_capture_on_commit_callbacks):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    report = failed_report(owner, organisation, monkeypatch)
    with django_capture_on_commit_callbacks() as queued:
        response = api(owner).post(URL + f"{report.pk}/resend/")
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "queued" and response.json()["error"] == ""
    assert mailoutbox == [] and len(queued) == 1
    queued[0]()
    queued[0]()  # the broker delivers the task twice: the claim lets one send
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [report.recipient]
    report.refresh_from_db()
    assert report.state == "sent" and report.error == "" and report.sent_at is not None
    entry = AuditEntry.objects.get(object_type="mailtools.phishingreport", object_id=str(report.pk),
                                   action="update")
    assert entry.actor == owner and entry.changes["state"] == ["failed", "queued"]


def test_a_report_not_failed_is_a_409(api, owner, organisation, mailoutbox, settings,
                                      django_capture_on_commit_callbacks):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with django_capture_on_commit_callbacks(execute=True):
        report = phishing_report_create(actor=owner, organisation=organisation, original=MESSAGE)
    assert PhishingReport.objects.get(pk=report.pk).state == "sent"
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = api(owner).post(URL + f"{report.pk}/resend/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_failed" and response.json()["error"]["message"]
    assert queued == [] and len(mailoutbox) == 1
    assert PhishingReport.objects.get(pk=report.pk).state == "sent"
    assert not AuditEntry.objects.filter(object_id=str(report.pk), action="update").exists()


def test_another_organisations_report_is_a_404_like_a_missing_one(api, owner, outsider,
                                                                  other_organisation, monkeypatch):
    foreign = failed_report(outsider, other_organisation, monkeypatch)
    got = api(owner).post(URL + f"{foreign.pk}/resend/")
    missing = api(owner).post(URL + "987654321/resend/")
    assert got.status_code == 404 and got.json() == missing.json()
    assert got.json()["error"]["code"] == "not_found"
    assert PhishingReport.objects.get(pk=foreign.pk).state == "failed"


def test_a_member_resends_their_own_report_not_a_colleagues(api, organisation, member, monkeypatch,
                                                            django_capture_on_commit_callbacks):
    peer = add_member(organisation, make_user("peer@example.org"), "member").user
    theirs = failed_report(peer, organisation, monkeypatch)
    mine = failed_report(member, organisation, monkeypatch)
    refused = api(member).post(URL + f"{theirs.pk}/resend/")
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"
    assert PhishingReport.objects.get(pk=theirs.pk).state == "failed"
    with django_capture_on_commit_callbacks():
        accepted = api(member).post(URL + f"{mine.pk}/resend/")
    assert accepted.status_code == 202 and accepted.json()["state"] == "queued"


def test_an_admin_resends_a_members_report(api, organisation, admin, member, monkeypatch,
                                           django_capture_on_commit_callbacks):
    report = failed_report(member, organisation, monkeypatch)
    with django_capture_on_commit_callbacks():
        response = api(admin).post(URL + f"{report.pk}/resend/")
    assert response.status_code == 202
    assert PhishingReport.objects.get(pk=report.pk).state == "queued"

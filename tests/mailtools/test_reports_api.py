"""The API of the mail tools: the header analysis, phishing reports stored write-once,
sent as ARF through Django's e-mail backend, listed by organisation and role."""
import hashlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mailtools import arf
from mailtools.models import EvidenceChanged, PhishingReport
from manager.audit.models import AuditEntry
from tests.factories import add_member, make_organisation, make_user

pytestmark = pytest.mark.django_db
SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples"
URL = "/api/v1/tools/phishing-reports/"


def upload(data, name="m.eml", content_type="message/rfc822"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def test_header_analysis_answers_in_the_asked_time_zone(api, owner, organisation, settings):
    settings.MAIL_AUTHSERV_IDS = ["mx.ours.example"]
    headers = ("Received: from a.example ([192.0.2.1]) by mx.ours.example; Fri, 27 Nov 2026 08:00:00 +0000\n"
               "Authentication-Results: mx.ours.example; dkim=pass header.d=a.example\n"
               "From: \"<script>x</script>\" <a@a.example>\nDate: not a date\n")
    body = api(owner).post("/api/v1/tools/header-analysis/", {"headers": headers, "time_zone": "Asia/Tokyo"},
                           format="json").json()
    assert body["date"] is None and body["time_zone"] == "Asia/Tokyo"
    assert body["hops"][0]["time"] == "2026-11-27T17:00:00+09:00"
    assert body["authentication"][0]["verified"] is True
    assert body["sender"][0]["name"] == "<script>x</script>"


def test_a_non_message_upload_is_refused_in_the_error_shape(api, owner, organisation):
    client = api(owner)
    png = client.post(URL, {"message": upload(b"\x89PNG\r\n\x1a\n", "x.png", "image/png")}, format="multipart")
    assert png.status_code == 400 and png.json()["error"]["code"] == "not_a_message"
    text = client.post(URL, {"message": upload(b"%PDF-1.7 hello", "x.eml")}, format="multipart")
    assert text.status_code == 400 and text.json()["error"]["fields"]["message"]
    assert not PhishingReport.objects.exists()


def test_an_oversized_message_is_a_413(api, owner, organisation, settings, monkeypatch):
    monkeypatch.setattr("mailtools.api.REPORTED_MESSAGE_BYTES", 100)
    response = api(owner).post(URL, {"message": upload(b"From: a@b.example\r\n" + b"x" * 200)},
                               format="multipart")
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"


def test_a_report_stores_the_bytes_audits_and_sends_an_arf(api, owner, organisation, mailoutbox,
                                                          settings, django_capture_on_commit_callbacks):
    settings.PHISHING_REPORT_ADDRESS = "abuse@desk.example"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    raw = (SAMPLES / "newsletter.eml").read_bytes()
    with django_capture_on_commit_callbacks(execute=True):
        response = api(owner).post(URL, {"message": upload(raw)}, format="multipart")
    assert response.status_code == 201, response.content
    report = PhishingReport.objects.get()
    assert bytes(report.original) == raw and report.sha256 == hashlib.sha256(raw).hexdigest()
    assert AuditEntry.objects.filter(object_type="mailtools.phishingreport", object_id=str(report.pk),
                                     action="create").exists()
    assert report.state == "sent" and mailoutbox[0].to == ["abuse@desk.example"]
    assert arf.embedded_original(mailoutbox[0].raw) == raw
    assert api(owner).get(URL + f"{report.pk}/").json()["state"] == "sent"


def test_a_failed_send_is_listed_with_its_error(api, owner, organisation, settings,
                                                django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with django_capture_on_commit_callbacks(execute=True):
        api(owner).post(URL, {"headers": "From: a@b.example\nSubject: x\n"}, format="json")
    report = api(owner).get(URL).json()["results"][0]
    assert report["state"] == "failed" and report["error"] and report["headers_only"] is True


def test_the_evidence_is_write_once(owner, organisation):
    from mailtools.services import phishing_report_create

    report = phishing_report_create(actor=owner, organisation=organisation, original=b"From: a@b.example\r\n")
    report.original = b"From: someone-else@b.example\r\n"
    with pytest.raises(EvidenceChanged):
        report.save()
    with pytest.raises(EvidenceChanged):
        report.save(update_fields=["original"])
    with pytest.raises(EvidenceChanged):
        PhishingReport.objects.filter(pk=report.pk).update(original=b"x")
    report.refresh_from_db()
    assert bytes(report.original) == b"From: a@b.example\r\n"


def test_members_see_their_own_reports_managers_all_strangers_none(api, owner, organisation, member,
                                                                   outsider, other_organisation):
    from mailtools.services import phishing_report_create

    make_organisation(owner, "Colleague Org")  # the owner's other organisation has none
    peer = add_member(organisation, make_user("peer@example.org"), "member").user
    mine = phishing_report_create(actor=member, organisation=organisation, original=b"From: a@b.example\r\n")
    theirs = phishing_report_create(actor=peer, organisation=organisation, original=b"From: c@d.example\r\n")
    foreign = phishing_report_create(actor=outsider, organisation=other_organisation,
                                     original=b"From: e@f.example\r\n")
    assert {r["id"] for r in api(owner).get(URL).json()["results"]} == {mine.pk, theirs.pk}
    assert [r["id"] for r in api(member).get(URL).json()["results"]] == [mine.pk]
    assert api(member).get(URL + f"{theirs.pk}/").status_code == 404
    stranger = api(owner).get(URL + f"{foreign.pk}/")
    assert stranger.status_code == 404 and stranger.json()["error"]["code"] == "not_found"
    # Naming another organisation in the body is refused like an id that does not exist.
    answers = [api(owner).post(URL, {"headers": "From: a@b.example\n", "organisation": pk},
                               format="json") for pk in (other_organisation.pk, 10**9)]
    assert [a.status_code for a in answers] == [400, 400]
    assert answers[0].json() == answers[1].json()
    assert answers[0].json()["error"]["fields"]["organisation"]
    assert PhishingReport.objects.filter(organisation=other_organisation).count() == 1


def test_the_task_sends_with_the_arrival_seen_by_our_server(owner, organisation, mailoutbox):
    from mailtools.services import phishing_report_create
    from mailtools.tasks import send_phishing_report

    raw = (b"Return-Path: <bounce@phish.example>\r\n"
           b"Received: from mail.phish.example (mail.phish.example [203.0.113.9]) by mx.ours.example;"
           b" Fri, 27 Nov 2026 09:12:50 +0100\r\n" + (SAMPLES / "plain.eml").read_bytes())
    report = phishing_report_create(actor=owner, organisation=organisation, original=raw)
    assert report.state == "queued" and mailoutbox == []
    send_phishing_report.apply(args=[report.pk])
    sent = mailoutbox[0].raw
    for line in (b"Feedback-Type: fraud", b"Source-IP: 203.0.113.9",
                 b"Original-Mail-From: <bounce@phish.example>",
                 b"Arrival-Date: Fri, 27 Nov 2026 09:12:50 +0100"):
        assert line in sent
    assert arf.embedded_original(sent) == raw
    report.refresh_from_db()
    assert report.state == "sent" and report.sent_at is not None
    send_phishing_report.apply(args=[report.pk])  # a redelivered task sends nothing twice
    assert len(mailoutbox) == 1


def test_a_report_whose_task_was_lost_is_queued_again_and_sent_once(owner, organisation, mailoutbox,
                                                                   settings):
    from datetime import timedelta

    from django.utils import timezone

    from mailtools.services import (
        phishing_report_create,
        phishing_report_send,
        phishing_reports_requeue,
    )

    settings.CELERY_TASK_ALWAYS_EAGER = True
    report = phishing_report_create(actor=owner, organisation=organisation, original=b"Subject: x\r\n")
    assert phishing_reports_requeue() == 0  # just written: its own task is on the way
    PhishingReport.objects.filter(pk=report.pk).update(created=timezone.now() - timedelta(minutes=10))
    PhishingReport.objects.filter(pk=report.pk).update(claimed_at=timezone.now())  # a worker has it
    assert phishing_reports_requeue() == 0 and phishing_report_send(report.pk).state == "queued"
    PhishingReport.objects.filter(pk=report.pk).update(claimed_at=timezone.now() - timedelta(hours=1))
    assert phishing_reports_requeue() == 1  # that worker died: sent now (eagerly here)
    assert PhishingReport.objects.get(pk=report.pk).state == "sent" and len(mailoutbox) == 1


def test_the_smtp_backend_is_handed_the_report_with_every_line_ended_by_crlf(owner, organisation,
                                                                             monkeypatch):
    """SMTP carries lines ended by CRLF only (RFC 5321 §2.3.8): an original saved with LF
    line ends goes out in the form it travelled in, whose signature it carries."""
    import re

    from django.core.mail.backends.smtp import EmailBackend

    from mailtools.services import phishing_report_create, phishing_report_send

    class Relay:  # stands for smtplib.SMTP: what sendmail is handed is what goes on the wire
        def __init__(self):
            self.sent = []

        def sendmail(self, from_addr, to_addrs, msg):
            self.sent.append((from_addr, to_addrs, msg))
            return {}

    raw = (SAMPLES / "newsletter.eml").read_bytes()
    assert b"\r" not in raw and raw.count(b"\n") > 5
    report = phishing_report_create(actor=owner, organisation=organisation, original=raw)
    backend = EmailBackend()
    backend.connection = relay = Relay()
    monkeypatch.setattr("mailtools.services.reports.get_connection", lambda: backend)
    assert phishing_report_send(report.pk).state == "sent"
    ((_sender, recipients, wire),) = relay.sent
    assert recipients == [report.recipient]
    assert re.search(rb"(?<!\r)\n", wire) is None, "a bare LF is handed to SMTP"
    assert arf.embedded_original(wire) == raw.replace(b"\n", b"\r\n")
    assert bytes(PhishingReport.objects.get(pk=report.pk).original) == raw  # the evidence as received

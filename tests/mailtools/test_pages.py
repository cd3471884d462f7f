"""The mail tools' pages: refusals on the page, the reports listed by role, the rule
tester's "Report phishing" button, and templates fit for a nonce-based CSP."""
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mailtools.models import PhishingReport
from mailtools.services import phishing_report_create

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_a_picture_is_refused_on_the_page_and_nothing_is_stored(client, owner, organisation):
    client.force_login(owner)
    picture = SimpleUploadedFile("x.png", b"\x89PNG\r\n", content_type="image/png")
    response = client.post("/tools/phishing-reports/", {"message": picture})
    assert response.status_code == 400 and "not an e-mail message" in response.content.decode()
    assert not PhishingReport.objects.exists()
    analysed = client.post("/tools/header-analysis/", {"headers": "no colon here"})
    assert analysed.status_code == 400


def test_a_member_lists_their_own_reports_only(client, owner, organisation, member, outsider,
                                              other_organisation):
    phishing_report_create(actor=owner, organisation=organisation, original=b"Subject: owner's\r\n")
    phishing_report_create(actor=member, organisation=organisation, original=b"Subject: member's\r\n")
    phishing_report_create(actor=outsider, organisation=other_organisation, original=b"Subject: foreign\r\n")
    client.force_login(member)
    page = client.get("/tools/phishing-reports/").content.decode()
    assert "member&#x27;s" in page and "owner&#x27;s" not in page and "foreign" not in page
    client.force_login(owner)
    page = client.get("/tools/phishing-reports/").content.decode()
    assert "member&#x27;s" in page and "owner&#x27;s" in page and "foreign" not in page


def test_the_rule_tester_offers_to_report_the_same_upload(client, owner, alice):
    client.force_login(owner)
    page = client.get(f"/mail/addresses/{alice.pk}/rules/test/").content.decode()
    assert 'formaction="/tools/phishing-reports/"' in page


def test_the_templates_have_no_inline_script_style_or_handler():
    for template in (ROOT / "templates" / "mailtools").glob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template
        assert not re.search(r"\sstyle=|\son[a-z]+=", text), template

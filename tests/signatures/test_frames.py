"""A signature's own HTML is shown in a sandboxed frame: the template's preview and a
person's signatures page frame a document served with a policy of its own (inline styles,
nothing that runs, framed by our pages only), through the same gate as the page, while
the pages themselves keep the strict policy with no 'unsafe-inline' at all."""
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from signatures import services
from signatures.models import Signature
from tests.factories import add_member, grant, make_user
from tests.signatures.conftest import make_template

pytestmark = pytest.mark.django_db

HOSTILE = "<img src=x onerror=alert(1)>"
FRAME_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data: https:; sandbox; "
                "frame-ancestors 'self'")
STYLED = '<p style="color: #c00">Call {{ full_name }}</p>'


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def frames(html):
    """The <iframe> tags of a page, each as its attribute text."""
    return re.findall(r"<iframe\b([^>]*)>", html)


def assert_framed_signature(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Content-Security-Policy"] == FRAME_POLICY
    assert "Content-Security-Policy-Report-Only" not in response
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    document = response.content.decode()
    assert document.startswith("<!doctype html>") and "<script" not in document
    assert 'style="color:#c00"' in document.replace(": ", ":")  # the mail styles, kept
    return document


def assert_strict(response):
    policy = response["Content-Security-Policy"]
    assert "nonce-" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "style-src-attr" not in policy
    assert response["X-Frame-Options"] == "DENY"


@pytest.fixture
def styled(owner, premium):
    return make_template(owner, premium, publish=False, extra_html=STYLED)


def test_the_preview_frames_the_chosen_users_signature_under_its_own_policy(owner, member,
                                                                            premium, alice,
                                                                            styled):
    access = grant(owner, alice, member, ["read"])
    member.full_name = HOSTILE
    member.save()
    client = logged_in(owner)
    page = client.get(reverse("signatures:template_edit", args=[styled.pk]))
    assert_strict(page)
    partial = client.get(reverse("signatures:template_preview", args=[styled.pk]),
                         {"access": access.pk}, HTTP_HX_REQUEST="true")
    assert_strict(partial)
    [frame] = frames(partial.content.decode())
    src = reverse("signatures:template_preview_frame", args=[styled.pk]) + f"?access={access.pk}"
    assert f'src="{src}"' in frame and re.search(r"\ssandbox(\s|$)", frame)
    assert "allow-" not in frame and "style=" not in frame and 'title="Signature' in frame
    document = assert_framed_signature(client.get(src))
    assert "Call &lt;img src=x onerror=alert(1)&gt;" in document and "<img src=x" not in document
    # Without a choice: the example address, framed the same way.
    [frame] = frames(client.get(reverse("signatures:template_preview", args=[styled.pk]))
                     .content.decode())
    assert f'src="{reverse("signatures:template_preview_frame", args=[styled.pk])}"' in frame
    example = assert_framed_signature(
        client.get(reverse("signatures:template_preview_frame", args=[styled.pk])))
    assert "onerror" not in example


def test_the_preview_frame_has_the_gate_of_the_preview(owner, member, outsider, premium,
                                                       foreign_address, styled):
    frame = reverse("signatures:template_preview_frame", args=[styled.pk])
    preview = reverse("signatures:template_preview", args=[styled.pk])
    for user in (member, outsider):
        client = logged_in(user)
        assert client.get(frame).status_code == client.get(preview).status_code
    assert logged_in(member).get(frame).status_code == 404  # templates are their managers'
    assert logged_in(outsider).get(frame).status_code == 404  # another organisation's
    # An access of another service is no choice for this preview.
    other = grant(foreign_address.mail_service.organisation.memberships.first().user,
                  foreign_address, outsider, ["read"])
    assert logged_in(owner).get(frame, {"access": other.pk}).status_code == 404
    assert Client().get(frame).status_code == 302  # to the login page


@pytest.fixture
def two_users_signed(owner, member, organisation, premium, alice):
    """alice@ with a published styled template, activated for the member and another user."""
    member.full_name = "Mia Member"
    member.save()
    other = make_user("other@example.org", full_name="Otto Other")
    add_member(organisation, other, "member")
    grant(owner, alice, member, ["read", "manage_signature"])
    grant(owner, alice, other, ["read", "manage_signature"])
    template = make_template(owner, premium, extra_html=STYLED)
    services.job_run(services.job_start(actor=owner, template=template, kind="activate",
                                        addresses=[alice]).pk)
    return Signature.objects.get(user=member), Signature.objects.get(user=other)


def test_a_persons_page_frames_each_of_their_signatures(member, alice, two_users_signed):
    mine, theirs = two_users_signed
    client = logged_in(member)
    page = client.get(reverse("signatures:address", args=[alice.pk]))
    assert_strict(page)
    html = page.content.decode()
    [frame] = frames(html)
    src = reverse("signatures:signature_frame", args=[alice.pk, mine.pk])
    assert f'src="{src}"' in frame and re.search(r"\ssandbox(\s|$)", frame) and "allow-" not in frame
    assert 'style="' not in html  # the signature's HTML is in the frame only
    # Copy and download still carry the signature's HTML.
    assert f'data-copy-target="#signature-source-{mine.pk}"' in html
    source = re.search(rf'<textarea id="signature-source-{mine.pk}"[^>]*>([^<]*)</textarea>', html)
    assert "#c00" in mine.html and source.group(1) == escape(mine.html)
    download = client.get(reverse("signatures:download", args=[mine.pk]))
    assert download.status_code == 200 and "#c00" in download.content.decode()
    document = assert_framed_signature(client.get(src))
    assert "Call Mia Member" in document and "Otto" not in document


def test_the_signature_frame_has_the_gate_of_the_page(owner, member, outsider, premium, alice,
                                                      two_users_signed):
    mine, theirs = two_users_signed
    own = reverse("signatures:signature_frame", args=[alice.pk, mine.pk])
    other = reverse("signatures:signature_frame", args=[alice.pk, theirs.pk])
    assert logged_in(member).get(other).status_code == 404  # not on their page
    assert "Call Otto Other" in assert_framed_signature(logged_in(owner).get(other))  # a manager sees all
    assert logged_in(outsider).get(own).status_code == 404  # another organisation's
    # The signature must be of that address, whatever address the person may see.
    bob = make_user("bob@example.org")
    add_member(premium.organisation, bob, "member")
    from tests.factories import make_address

    bobs = make_address(owner, premium, "bob")
    grant(owner, bobs, member, ["read", "manage_signature"])
    assert logged_in(member).get(reverse("signatures:signature_frame",
                                         args=[bobs.pk, mine.pk])).status_code == 404
    # Losing the permission closes the frame as it closes the page.
    alice.accesses.filter(user=member).update(permissions=["read"])
    client = logged_in(member)
    assert client.get(reverse("signatures:address", args=[alice.pk])).status_code == 403
    assert client.get(own).status_code == 403


def test_in_report_only_mode_the_frame_keeps_its_policy_enforced(owner, premium, styled, settings):
    settings.CSP_REPORT_ONLY = True
    client = logged_in(owner)
    page = client.get(reverse("signatures:template_edit", args=[styled.pk]))
    assert "Content-Security-Policy" not in page
    assert "unsafe-inline" not in page["Content-Security-Policy-Report-Only"]
    assert_framed_signature(client.get(reverse("signatures:template_preview_frame",
                                               args=[styled.pk])))

"""The rendering core: golden files for each layout, and the properties that keep a
signature safe and tidy (escaping, sanitising, no dangling separators, the text
delimiter, the size and width checks, typed values)."""
import os
from pathlib import Path

import pytest

from signatures import fields as f
from signatures import limits
from signatures.render import (
    LOGO,
    PHOTO_SOCIAL,
    SIMPLE,
    Design,
    FieldSpec,
    ImageRef,
    render,
    render_signature,
    resolve,
    sanitise,
)

GOLDEN = Path(__file__).parent / "golden"
LOGO_IMAGE = ImageRef("https://manager.example/signatures/images/1.png", "Acme", 400, 200)
PHOTO = ImageRef("https://manager.example/signatures/images/2.jpg", "Portrait", 400, 400)
PROFILE = {"first_name": "Marie", "last_name": "Curie", "job_title": "Physicist",
           "company": "Acme SA", "phone": "022 123 45 67", "email": "marie@domain.xyz"}


def spec(key, source=f.AUTO, **extra):
    return FieldSpec(key=key, source=source, **extra)


DESIGNS = {
    "simple": Design(layout=SIMPLE, fields=(
        spec("first_name"), spec("last_name"), spec("job_title"), spec("department", f.USER),
        spec("company"), spec("phone"), spec("mobile", f.USER), spec("email"),
        spec("website", f.FIXED, value="https://acme.example/"),
        spec("postal_address", f.FIXED, value="Rue du Rhône 1\n1204 Genève"),
        spec("legal_notice", f.FIXED, value="Acme SA — confidential."))),
    "logo": Design(layout=LOGO, image_width=150, accent_color="#aa3300", fields=(
        spec("first_name"), spec("last_name"), spec("job_title"), spec("company"),
        spec("phone"), spec("email"), spec("logo", f.FIXED, value="ref"))),
    "photo_social": Design(layout=PHOTO_SOCIAL, fields=(
        spec("first_name"), spec("last_name"), spec("job_title"), spec("photo", f.USER),
        spec("linkedin", f.USER), spec("x", f.USER), spec("email")),
        extra_html='<p style="font-size:11px">Book a call with {{ first_name }}: '
                   '<a href="https://cal.example/{{ first_name }}">calendar</a></p>'),
}
USER_VALUES = {
    "simple": {"department": "R&D", "mobile": "+41 79 123 45 67"},
    "logo": {},
    "photo_social": {"linkedin": "https://www.linkedin.com/in/curie", "x": ""},
}
IMAGES = {"simple": {}, "logo": {"logo": LOGO_IMAGE}, "photo_social": {"photo": PHOTO}}


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_each_layout_matches_its_golden_files(name):
    rendered = render_signature(DESIGNS[name], profile=PROFILE, user_values=USER_VALUES[name],
                                images=IMAGES[name], user_done=True)
    for suffix, content in ((".html", rendered.html + "\n"), (".txt", rendered.text)):
        path = GOLDEN / f"{name}{suffix}"
        if os.environ.get("UPDATE_GOLDEN"):
            path.write_text(content)
        assert content == path.read_text(), path.name
    assert rendered.warnings == ()
    assert rendered.state == "complete"


def test_the_text_starts_with_the_signature_delimiter_line():
    text = render_signature(DESIGNS["simple"], profile=PROFILE, user_values={}, images={}).text
    assert text.startswith("-- \nMarie Curie\n")


HOSTILE = '<img src=x onerror=alert(1)>'


def test_hostile_values_are_escaped_text():
    profile = {**PROFILE, "first_name": HOSTILE, "job_title": '"><script>alert(1)</script>'}
    html = render_signature(DESIGNS["simple"], profile=profile, user_values={}, images={}).html
    assert "<img" not in html and "<script" not in html and "onerror=" not in html.replace(
        "onerror=alert(1)&gt;", "")
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
                                 "/relative", "//evil.example/x", "http://plain.example/",
                                 "JaVaScRiPt:alert(1)", " javascript:alert(1)"])
def test_only_https_mailto_and_tel_links_survive_the_sanitiser(url):
    html = sanitise(f'<a href="{url}">x</a><img src="{url}" alt="a">')
    assert "href" not in html and "src" not in html


def test_the_administrators_html_loses_script_and_handlers_but_keeps_its_text():
    design = Design(fields=(spec("first_name"),), extra_html=(
        '<div onclick="steal()" style="color:red;position:fixed;background:url(x)">Hi '
        '{{ first_name }}<script>alert(1)</script><a href="javascript:alert(1)">link</a>'
        '<iframe src="https://evil.example"></iframe></div>'))
    rendered = render_signature(design, profile={"first_name": HOSTILE}, user_values={}, images={})
    for bad in ("onclick", "<script", "position", "url(", "javascript", "<iframe", "<img"):
        assert bad not in rendered.html, bad
    assert "Hi &lt;img src=x onerror=alert(1)&gt;" in rendered.html
    assert "link" in rendered.html and "link" in rendered.text


def test_a_typed_value_that_fails_its_check_is_dropped_with_a_warning():
    design = Design(fields=(spec("first_name"), spec("website", f.USER)))
    rendered = render_signature(design, profile=PROFILE, user_values={
        "website": "javascript:alert(1)"}, images={})
    assert "javascript" not in rendered.html and "javascript" not in rendered.text
    assert [(w.code, w.key) for w in rendered.warnings] == [("invalid_value", "website")]


def test_empty_fields_and_their_separators_disappear():
    design = DESIGNS["simple"]
    rendered = render_signature(design, profile={"first_name": "Ann"}, user_values={},
                                images={}, user_done=True)
    assert " · " not in rendered.html and " · " not in rendered.text
    assert "<div></div>" not in rendered.html
    alone = render(Design(fields=(spec("job_title"), spec("department", f.USER))),
                   {"department": "Sales"}, {})
    assert "<div>Sales</div>" in alone.html and alone.text == "-- \nSales\n"


def test_an_empty_signature_is_empty():
    rendered = render(Design(fields=(spec("first_name"),)), {}, {})
    assert rendered.html == "" and rendered.text == ""


def test_phone_numbers_become_international_tel_links():
    rendered = render(Design(fields=(spec("phone"),)), {"phone": "022 123 45 67"}, {})
    assert 'href="tel:+41221234567"' in rendered.html and "+41 22 123 45 67" in rendered.text


def test_resolution_reports_missing_profile_data_and_the_users_part():
    design = Design(fields=(spec("first_name"), spec("job_title", fallback="Staff"),
                            spec("phone"), spec("department", f.USER)))
    resolved = resolve(design, profile={"first_name": "Ann"}, user_values={})
    assert [(w.code, w.key) for w in resolved.warnings] == [
        ("missing_profile", "phone"), ("waiting_for_user", "department")]
    assert resolved.values["job_title"] == "Staff"
    done = resolve(design, profile={"first_name": "Ann", "phone": "+41 22 123 45 67"},
                   user_values={}, user_done=True)
    assert done.warnings == ()


def test_locked_automatic_values_cannot_be_replaced_by_the_user():
    design = Design(fields=(spec("first_name", locked=True), spec("job_title")))
    resolved = resolve(design, profile={"first_name": "Ann", "job_title": "Clerk"},
                       user_values={"first_name": "Bob", "job_title": "Boss"})
    assert resolved.values == {"first_name": "Ann", "job_title": "Boss"}


def test_hidden_fields_are_not_shown():
    design = Design(fields=(spec("first_name"), spec("job_title", hidden=True)))
    rendered = render_signature(design, profile=PROFILE, user_values={}, images={})
    assert "Physicist" not in rendered.html and "Physicist" not in rendered.text


def test_too_wide_and_too_large_are_blocking_warnings():
    wide = Design(fields=(spec("first_name"),), extra_html='<table width="900"><tr><td>x</td></tr></table>')
    rendered = render_signature(wide, profile=PROFILE, user_values={}, images={})
    assert [w.code for w in rendered.blocking] == ["too_wide"] and rendered.width == 900
    big = Design(fields=(spec("first_name"),), extra_html="<p>{{ first_name }}</p>" * 80)
    rendered = render_signature(big, profile={"first_name": "x" * 450}, user_values={}, images={})
    assert [w.code for w in rendered.blocking] == ["too_large"]
    assert len(rendered.html.encode()) > limits.SIGNATURE_HTML_BYTES


def test_an_image_not_served_over_https_is_left_out_with_a_warning():
    design = DESIGNS["logo"]
    rendered = render_signature(design, profile=PROFILE, user_values={}, images={
        "logo": ImageRef("http://127.0.0.1:8000/x.png", "Acme", 10, 10)})
    assert "<img" not in rendered.html
    assert [w.code for w in rendered.warnings] == ["image_not_https"]


def test_the_image_is_shown_at_the_designs_width_keeping_its_ratio():
    html = render_signature(DESIGNS["logo"], profile=PROFILE, user_values={},
                            images={"logo": LOGO_IMAGE}).html
    assert 'width="150" height="75"' in html and 'alt="Acme"' in html


@pytest.mark.parametrize("value,expected", [
    ("+41 22 123 45 67", "+41 22 123 45 67"), ("0221234567", "+41 22 123 45 67"),
    ("+33 1 42 68 53 00", "+33 1 42 68 53 00")])
def test_phone_numbers_are_normalised(value, expected):
    assert f.clean_phone(value) == expected


@pytest.mark.parametrize("value,code", [
    ("12", "invalid_phone"), ("not a number", "invalid_phone")])
def test_bad_phone_numbers_are_refused(value, code):
    with pytest.raises(f.InvalidValue) as caught:
        f.clean_phone(value)
    assert caught.value.code == code


@pytest.mark.parametrize("value,ok", [
    ("https://acme.example/", True), ("http://acme.example/", False), ("https://", False),
    ("https://localhost/", False), ("ftp://acme.example/", False), ("https://a b.example/", False)])
def test_urls_must_be_absolute_https(value, ok):
    if ok:
        assert f.clean_url(value) == value
    else:
        with pytest.raises(f.InvalidValue):
            f.clean_url(value)


@pytest.mark.parametrize("value,ok", [
    ("ann@domain.xyz", True), ("ann@xn--bcher-kva.example", True), ("ann", False),
    ("ann@domain", False), ("a..b@domain.xyz", False), ("ann@-bad.example", False)])
def test_email_addresses_are_checked(value, ok):
    if ok:
        assert f.clean_email(value)
    else:
        with pytest.raises(f.InvalidValue):
            f.clean_email(value)

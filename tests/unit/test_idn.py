"""The `idn` template filters: Unicode for people, the ASCII form beside it."""
from django.template import Context, Template

from manager.core.templatetags.idn import idn, idn_unicode, to_unicode


def test_an_idn_reads_in_unicode_and_an_address_keeps_its_local_part():
    assert to_unicode("xn--mnchen-3ya.example") == "münchen.example"
    assert to_unicode("info@xn--mnchen-3ya.example") == "info@münchen.example"
    assert to_unicode("shop.XN--P1AI") == "shop.рф"


def test_ascii_names_and_broken_punycode_stay_as_they_are():
    assert to_unicode("domain.xyz") == "domain.xyz"
    assert to_unicode("xn--zz.example") == "xn--zz.example"
    assert to_unicode("xn--a@domain.xyz") == "xn--a@domain.xyz"  # only the domain is decoded


def test_the_html_filter_puts_the_ascii_form_beside_and_escapes():
    assert idn("xn--mnchen-3ya.example") == (
        '<bdi class="idn">münchen.example</bdi> <small class="punycode">(xn--mnchen-3ya.example)</small>')
    assert idn("domain.xyz") == "domain.xyz" and idn(None) == "" and idn_unicode(None) == ""
    rendered = Template("{% load idn %}{{ name|idn }}|{{ name|idn_unicode }}").render(
        Context({"name": "<b>@xn--mnchen-3ya.example"}))
    assert rendered == ('<bdi class="idn">&lt;b&gt;@münchen.example</bdi> '
                        '<small class="punycode">(&lt;b&gt;@xn--mnchen-3ya.example)</small>'
                        "|&lt;b&gt;@münchen.example")
    assert Template("{% load idn %}{{ name|idn }}").render(Context({"name": "<i>.xyz"})) == "&lt;i&gt;.xyz"

"""Domain names are real IDNA: every A-label must decode and encode back to itself."""
import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from mailservice.validators import clean_domain

INVALID_A_LABELS = ["xn--zz.example", "xn--a.example", "xn--.example", "xn--80ak6aa92e-.example",
                    "shop.xn--zz", "ab--cd.example", "xn--bcher-kvb.example"]


@pytest.mark.parametrize("domain", INVALID_A_LABELS)
def test_an_invalid_a_label_is_refused(domain):
    with pytest.raises(ValidationError) as refused:
        clean_domain(domain)
    assert refused.value.code == "invalid_domain"


@pytest.mark.parametrize("domain, stored", [("bücher.example", "xn--bcher-kva.example"),
                                            ("xn--bcher-kva.example", "xn--bcher-kva.example"),
                                            ("Example.COM.", "example.com")])
def test_real_names_are_stored_as_a_labels(domain, stored):
    assert clean_domain(domain) == stored


@given(st.text(alphabet=st.characters(whitelist_categories=("Ll",), min_codepoint=0xe0,
                                      max_codepoint=0x24f), min_size=1, max_size=12))
def test_any_unicode_name_that_encodes_is_accepted_and_its_a_label_too(label):
    try:
        a_label = label.encode("idna").decode("ascii")
    except UnicodeError:
        return  # not a name IDNA can write at all
    assert clean_domain(f"{label}.example") == f"{a_label}.example"
    assert clean_domain(f"{a_label}.example") == f"{a_label}.example"

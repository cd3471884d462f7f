"""htmx posts carry the CSRF token: the page puts it in hx-headers on <body> (the cookie is
HttpOnly, scripts cannot read it), and a post without it is refused."""
import re

import pytest
from django.test import Client

from manager.accounts.models import ApiToken

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_an_htmx_post_without_the_token_is_403_and_with_the_pages_token_is_done(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    page = client.get("/accounts/tokens/").content.decode()
    token = re.search(r"""<body hx-headers='\{"X-CSRFToken": "([^"]+)"\}'>""", page).group(1)

    refused = client.post("/accounts/tokens/", {"name": "no token"}, **HTMX)
    assert refused.status_code == 403
    assert not ApiToken.objects.filter(name="no token").exists()
    forged = client.post("/accounts/tokens/", {"name": "forged"}, HTTP_X_CSRFTOKEN="x" * 64, **HTMX)
    assert forged.status_code == 403

    done = client.post("/accounts/tokens/", {"name": "with token"}, HTTP_X_CSRFTOKEN=token, **HTMX)
    assert done.status_code == 200
    assert ApiToken.objects.filter(user=owner, name="with token").exists()


def test_the_csrf_cookie_is_httponly_and_same_site(owner):
    client = Client()
    client.force_login(owner)
    client.get("/accounts/tokens/")
    cookie = client.cookies["csrftoken"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"

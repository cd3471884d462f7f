"""The backend status badge refreshes itself while pending: the mail service pages (and the
address page, through its own endpoint) poll a small partial that stops asking once the
push is applied or failed. The partial goes through the gate like the pages."""
import re

import pytest
from django.db.models import F
from django.utils import timezone

from mailservice.models import PUSH_KIND
from manager.core.models import PushJob
from tests.factories import grant

pytestmark = pytest.mark.django_db

POLLS = 'hx-trigger="every 2s"'


def status_url(service):
    return f"/mail/services/{service.pk}/status/"


def set_job(service, **fields):
    PushJob.objects.filter(kind=PUSH_KIND, target_id=service.domain).update(**fields)


def applied(service):
    set_job(service, state=PushJob.State.DONE, applied_generation=F("generation"),
            last_applied_at=timezone.now())


def test_a_pending_service_page_polls_its_status(client, owner, premium):
    client.force_login(owner)
    html = client.get(f"/mail/services/{premium.pk}/").content.decode()
    assert re.search(rf'hx-get="{status_url(premium)}" {POLLS} hx-swap="outerHTML"', html)
    assert 'class="badge pending"' in html


def test_the_partial_keeps_polling_while_pending_and_stops_once_applied(client, owner, premium):
    client.force_login(owner)
    response = client.get(status_url(premium))
    assert response.status_code == 200 and "no-cache" in response["Cache-Control"]
    html = response.content.decode()
    assert "<html" not in html and POLLS in html and "Pending" in html
    applied(premium)
    html = client.get(status_url(premium)).content.decode()
    assert POLLS not in html and "hx-get" not in html
    assert 'class="badge applied"' in html and "last applied" in html


def test_a_failed_push_stops_polling_and_shows_the_error(client, owner, premium):
    set_job(premium, state=PushJob.State.FAILED, last_error="doveadm: connection refused")
    client.force_login(owner)
    html = client.get(status_url(premium)).content.decode()
    assert POLLS not in html and 'class="badge failed"' in html
    assert "doveadm: connection refused" in html


def test_an_applied_service_page_does_not_poll(client, owner, premium):
    applied(premium)
    client.force_login(owner)
    assert POLLS not in client.get(f"/mail/services/{premium.pk}/").content.decode()


def test_the_list_polls_only_the_pending_services(client, owner, premium, starter):
    applied(starter)
    client.force_login(owner)
    html = client.get("/mail/").content.decode()
    assert f'hx-get="{status_url(premium)}"' in html
    assert f'hx-get="{status_url(starter)}"' not in html
    assert html.count(POLLS) == 1


def test_the_address_status_follows_its_mail_service(client, owner, alice, member):
    grant(owner, alice, member, ["read"])
    client.force_login(member)
    url = f"/mail/addresses/{alice.pk}/status/"
    assert f'hx-get="{url}"' in client.get(url).content.decode()
    applied(alice.mail_service)
    html = client.get(url).content.decode()
    assert 'class="badge applied"' in html and POLLS not in html


def test_the_status_partials_are_gated(client, outsider, other_organisation, premium, alice):
    client.force_login(outsider)
    assert client.get(status_url(premium)).status_code == 404
    assert client.get(f"/mail/addresses/{alice.pk}/status/").status_code == 404
    client.logout()
    assert client.get(status_url(premium)).status_code == 302  # to the login page

"""Browser contexts already logged in: the Django session is created server-side
(`force_login`) and handed to Chromium as its cookie, so a test starts on the page it
checks instead of going through the login form each time."""
from django.conf import settings
from django.test import Client


def logged_in_context(browser, live_server, user, **options):
    client = Client()
    client.force_login(user)
    context = browser.new_context(**{"locale": "en-GB", **options})
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME,
                          "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                          "url": live_server.url}])
    return context

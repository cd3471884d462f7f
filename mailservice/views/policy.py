"""Dovecot's auth policy server endpoint: the backend reports each login attempt, which
tells Mail Manager when a device password was last used. Never refuses a login itself
(IP bans are another feature); `allow` answers "accept"."""
import hmac
import json

from django.conf import settings
from django.http import HttpResponseForbidden, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..services import device_password_record_use

HEADER = "X-Mail-Manager-Policy"


@csrf_exempt
@require_POST
def dovecot_policy(request):
    secret = settings.MAIL_POLICY_SECRET
    given = request.headers.get(HEADER, "").encode("utf-8", "surrogateescape")
    # Bytes: compare_digest refuses non-ASCII text, and a header is client input.
    if not secret or not hmac.compare_digest(given, secret.encode()):
        return HttpResponseForbidden("bad policy secret")
    try:
        report = json.loads(request.body or b"{}")
    except ValueError:
        report = {}
    if not isinstance(report, dict):  # a JSON list or string is no report
        report = {}
    if request.GET.get("command") == "report" and report.get("success") and report.get("device"):
        device_password_record_use(str(report["device"]))
    # status is a JSON number; 0 = accept. The message would reach the user: keep it empty.
    return JsonResponse({"status": 0, "msg": ""})


urlpatterns = [path("internal/dovecot-policy/", dovecot_policy, name="dovecot_policy")]

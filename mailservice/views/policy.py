"""Dovecot's auth policy server endpoint. `allow` (asked before the password is checked)
answers "reject" while the ban service (manager/security) bans that login from that
address; `report` counts a failed login for the bans and tells Mail Manager when a device
password was last used. Dovecot waits auth_policy_server_timeout_msecs for an answer and
then lets the login through (it logs the failure): a panel that is down never stops mail."""
import hmac
import json

from django.conf import settings
from django.http import HttpResponseForbidden, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from manager.security import services as bans

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
    command = request.GET.get("command")
    login, remote = str(report.get("login") or ""), str(report.get("remote") or "")
    protocol = str(report.get("protocol") or "mail")
    if command == "allow" and bans.active_ban(remote, login) is not None:
        # status < 0 refuses the login; the message would reach the client: say nothing.
        return JsonResponse({"status": -1, "msg": ""})
    if command == "report":
        if report.get("success"):
            bans.forget_failures(remote, login)
            if report.get("device"):
                device_password_record_use(str(report["device"]), ip=remote, protocol=protocol)
        elif not report.get("policy_reject"):
            bans.record_failure(remote, login, protocol=protocol)
    # status is a JSON number; 0 = accept.
    return JsonResponse({"status": 0, "msg": ""})


urlpatterns = [path("internal/dovecot-policy/", dovecot_policy, name="dovecot_policy")]

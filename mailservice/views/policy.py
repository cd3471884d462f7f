"""Dovecot's auth policy server endpoint: the backend reports each login attempt, which
tells Mail Manager when a device password was last used. Never refuses a login itself
(IP bans are another feature); `allow` answers "accept"."""
import hmac
import json
import logging

from django.conf import settings
from django.http import HttpResponseForbidden, JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..models import DevicePassword

log = logging.getLogger(__name__)
HEADER = "X-Mail-Manager-Policy"
TOUCH_EVERY_SECONDS = 60  # one write a minute per device is enough for "last used"


def record_device_use(device_ref: str) -> int:
    """Stamp the device password as used now; at most once a minute per device."""
    now = timezone.now()
    try:
        return DevicePassword.objects.filter(ref=device_ref, revoked__isnull=True).exclude(
            last_used__gt=now - timezone.timedelta(seconds=TOUCH_EVERY_SECONDS)).update(last_used=now)
    except Exception:  # a malformed ref from a client-controlled field is not a UUID
        return 0


@csrf_exempt
@require_POST
def dovecot_policy(request):
    secret = settings.MAIL_POLICY_SECRET
    if not secret or not hmac.compare_digest(request.headers.get(HEADER, ""), secret):
        return HttpResponseForbidden("bad policy secret")
    try:
        report = json.loads(request.body or b"{}")
    except ValueError:
        report = {}
    if request.GET.get("command") == "report" and report.get("success") and report.get("device"):
        record_device_use(str(report["device"]))
    # status is a JSON number; 0 = accept. The message would reach the user: keep it empty.
    return JsonResponse({"status": 0, "msg": ""})


urlpatterns = [path("internal/dovecot-policy/", dovecot_policy, name="dovecot_policy")]

"""Shared helpers of the mail services: permission and plan checks, input cleaning, and
the push of a mail service's desired state (queued in the caller's transaction)."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from manager.core import outbox
from manager.core.errors import ServiceError
from manager.core.permissions import may

from ..models import PUSH_KIND, MailService
from ..plans import FEATURES

SERVICE_FIELDS = ["domain", "plan", "capacity", "backend_host"]
ADDRESS_FIELDS = ["local_part", "display_name", "quota_mb", "enabled", "autoreply_enabled",
                  "autoreply_subject", "autoreply_body", "autoreply_start", "autoreply_end",
                  "autoreply_days", "autoreply_addresses", "autoreply_time_zone"]


def _denied():
    return ServiceError(_("Your role does not allow this action."), code="permission_denied",
                        status=403)


def _require(actor, action, organisation_id):
    if not may(actor, action, organisation_id=organisation_id):
        raise _denied()


def _invalid(field, error: ValidationError):
    return ServiceError(" ".join(error.messages), code=error.code or "invalid",
                        fields={field: list(error.messages)})


def _clean(field, cleaner, value):
    try:
        return cleaner(value)
    except ValidationError as exc:
        raise _invalid(field, exc) from exc


def push(service: MailService):
    """The mail backend must receive this service's desired state (after commit). The unit
    is named by its domain, which never changes, so a deleted service can still be removed
    from the backend. The job, as the change left it, is kept on the service object
    (`push_job`): the answer to the change shows its sync status without reading it back."""
    from ..push import queue_of_host

    service.push_job = outbox.enqueue(PUSH_KIND, service.domain,
                                      organisation_id=service.organisation_id,
                                      queue=queue_of_host(service.backend_host))
    return service.push_job


def _feature_error(service_or_plan, feature):
    plan_ = service_or_plan.plan_info if hasattr(service_or_plan, "plan_info") else service_or_plan
    return ServiceError(
        _("The %(plan)s plan does not include %(feature)s.")
        % {"plan": plan_.name, "feature": FEATURES[feature]},
        code="feature_not_in_plan", status=403,
    )


def require_feature(service: MailService, feature: str):
    if not getattr(service.plan_info, feature):
        raise _feature_error(service, feature)

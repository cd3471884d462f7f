"""API plumbing shared by every resource: pagination, the error shape, the base viewset."""
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from django.http import Http404
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from manager.accounts.roles import ADD, CHANGE, DELETE, VIEW

from .errors import ServiceError, validation_error_code, validation_error_fields
from .permissions import may


def _flatten(detail):
    """DRF error detail → ({field: [messages]}, first message, first code)."""
    if isinstance(detail, dict):
        fields = {}
        for key, value in detail.items():
            items = value if isinstance(value, list) else [value]
            flat = []
            for item in items:
                if isinstance(item, dict):  # nested serializer
                    for sub_key, sub_val in _flatten(item)[0].items():
                        fields[f"{key}.{sub_key}"] = sub_val
                else:
                    flat.append(str(item))
            if flat:
                fields[key] = flat
        return fields
    return {}


def error_response(status_code, code, message, fields=None, headers=None):
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    return Response(body, status=status_code, headers=headers)


def exception_handler(exc, context):
    """One error shape for every endpoint: {"error": {"code", "message", "fields"}}."""
    if isinstance(exc, ServiceError):
        return error_response(exc.status, exc.code, exc.message, exc.fields)
    if isinstance(exc, DjangoValidationError):
        fields = validation_error_fields(exc)
        message = "; ".join(m for ms in fields.values() for m in ms)
        return error_response(400, validation_error_code(exc), message, fields)
    if isinstance(exc, ProtectedError):
        return error_response(409, "protected", "The object is in use and cannot be deleted.")
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        fields = _flatten(detail)
        codes = exc.get_codes()
        flat_codes = set()

        def collect(c):
            if isinstance(c, dict):
                for v in c.values():
                    collect(v)
            elif isinstance(c, list):
                for v in c:
                    collect(v)
            else:
                flat_codes.add(c)

        collect(codes)
        code = flat_codes.pop() if len(flat_codes) == 1 else "invalid"
        message = "; ".join(f"{k}: {m}" for k, ms in fields.items() for m in ms) or "Invalid input."
        return error_response(400, code, message, fields)
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        code = "not_authenticated" if isinstance(exc, exceptions.NotAuthenticated) else "authentication_failed"
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    headers = {k: v for k, v in response.items() if k in ("WWW-Authenticate", "Retry-After")}
    return error_response(response.status_code, str(code), str(detail), headers=headers)


class RestrictedViewSet(viewsets.GenericViewSet):
    """Base for organisation-owned resources: the queryset goes through the permission
    gate (another organisation's object is a 404) and writes need the role's action (403).
    Subclasses implement `perform_create/update/destroy` by calling one service."""

    queryset_action = VIEW
    action_map_to_permission = {
        "create": ADD, "update": CHANGE, "partial_update": CHANGE, "destroy": DELETE,
    }

    def get_queryset(self):
        return self.base_queryset().restrict(self.request.user, self.queryset_action)

    def base_queryset(self):
        return self.queryset.model.objects.all()

    def check_object_permissions(self, request, obj):
        super().check_object_permissions(request, obj)
        needed = self.action_map_to_permission.get(self.action)
        if needed and not may(request.user, needed, obj):
            raise exceptions.PermissionDenied("Your role does not allow this action.")

    def require(self, action, obj):
        if not may(self.request.user, action, obj):
            raise exceptions.PermissionDenied("Your role does not allow this action.")


class ServiceModelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                          mixins.UpdateModelMixin, mixins.DestroyModelMixin, RestrictedViewSet):
    """CRUD whose writes go through services (`perform_*` overridden by subclasses)."""

    def destroy(self, request, *args, **kwargs):
        instance = self.get_object()
        self.perform_destroy(instance)
        return Response(status=status.HTTP_204_NO_CONTENT)

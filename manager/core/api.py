"""API plumbing shared by every resource: pagination, the error shape, the base viewset."""
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.db.models import ProtectedError
from django.http import Http404
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from manager.accounts.roles import ADD, CHANGE, DELETE, VIEW

from .errors import ServiceError, validation_error_code, validation_error_fields
from .permissions import may


def field_errors(detail, path: str = "") -> list[tuple[str, str, str]]:
    """Every leaf of a DRF error detail, however nested (dicts of fields, lists of items,
    `{index: …}` of list serializers), as (path, message, code); paths are dotted:
    `conditions.1.operator`, as the services name fields."""
    if isinstance(detail, dict):
        # An error about a nested object or list as a whole belongs to its own field.
        return [leaf for key, value in detail.items()
                for leaf in field_errors(value, path if path and key == "non_field_errors"
                                         else f"{path}.{key}" if path else str(key))]
    if isinstance(detail, list | tuple):
        leaves = []
        for index, item in enumerate(detail):
            if isinstance(item, dict | list | tuple):  # one item of a list of objects
                leaves += field_errors(item, f"{path}.{index}" if path else str(index))
            else:
                leaves += field_errors(item, path)
        return leaves
    return [(path or "non_field_errors", str(detail), getattr(detail, "code", None) or "invalid")]


def error_response(status_code, code, message, fields=None, headers=None):
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    return Response(body, status=status_code, headers=headers)


def exception_handler(exc, context):
    """One error shape for every endpoint, always JSON: an endpoint that also renders a
    file (CSV, a configuration profile) answers its errors in JSON, not in the file's
    content type the client asked for."""
    response = error_shape(exc, context)
    request = context.get("request")
    if response is not None and request is not None:
        # The view copies the request's negotiated renderer onto the response.
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type
    return response


def error_shape(exc, context):
    """{"error": {"code", "message", "fields"}} for every refusal and failure."""
    if isinstance(exc, ServiceError):
        return error_response(exc.status, exc.code, exc.message, exc.fields)
    if isinstance(exc, DjangoValidationError):
        fields = validation_error_fields(exc)
        message = "; ".join(m for ms in fields.values() for m in ms)
        return error_response(400, validation_error_code(exc), message, fields)
    if isinstance(exc, ProtectedError):
        return error_response(409, "protected", "The object is in use and cannot be deleted.")
    if isinstance(exc, RequestDataTooBig):
        return error_response(413, "too_large", "The request body is larger than the limit.")
    if isinstance(exc, OverflowError | DataError):
        # A number no column can hold (an id of 30 digits): bad input, not a server fault.
        return error_response(400, "out_of_range", "A number in the request is out of range.")
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields: dict[str, list[str]] = {}
        codes = set()
        for path, message, code in field_errors(exc.detail):
            fields.setdefault(path, []).append(message)
            codes.add(code)
        code = codes.pop() if len(codes) == 1 else "invalid"
        message = "; ".join(f"{k}: {m}" for k, ms in fields.items() for m in ms) or "Invalid input."
        return error_response(400, code, message, fields)
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        code = "not_authenticated" if isinstance(exc, exceptions.NotAuthenticated) else "authentication_failed"
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    headers = {k: v for k, v in response.items() if k in ("WWW-Authenticate", "Retry-After")}
    return error_response(response.status_code, str(code), str(detail), headers=headers)


class FixedAfterCreationMixin:
    """For a serializer whose `fixed_after_creation` fields are set at creation only: on an
    update they are read-only, and sending a different value is refused (400 `read_only`)
    instead of being silently ignored."""

    fixed_after_creation: tuple[str, ...] = ()

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if self.instance is None or isinstance(self.instance, list | tuple):
            return attrs
        changed = {}
        for name in self.fixed_after_creation:
            if name not in getattr(self, "initial_data", {}):
                continue
            current = getattr(self.instance, f"{name}_id", None)
            current = getattr(self.instance, name) if current is None else current
            if str(self.initial_data[name]).strip().lower() != str(current).lower():
                changed[name] = [exceptions.ErrorDetail("Fixed once created.", code="read_only")]
        if changed:
            raise exceptions.ValidationError(changed)
        return attrs


class ParentScopedMixin:
    """For resources nested under a parent in the URL (`addresses/{address_pk}/…`): the
    parent goes through the gate before the handler reads the body, so another
    organisation's parent is a 404 whatever is sent (a 400 about fields would tell a
    stranger the parent exists). `parent_kwarg` names the URL part; `parent()` looks the
    parent up through the gate (and caches it)."""

    parent_kwarg = ""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if self.parent_kwarg in self.kwargs:  # the schema generator calls without kwargs
            self.parent()

    def parent(self):
        raise NotImplementedError


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

    def filter_queryset(self, queryset):
        # The filters are the list's: an object is found by its id through the gate.
        # Building the list's filterset and its form for a detail request was a third of
        # a retrieve's own work (and a stray `?enabled=` could turn it into a 404).
        if getattr(self, "detail", False):
            return queryset
        return super().filter_queryset(queryset)

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

"""Errors that services raise; the API and the UI turn them into one shape."""
from django.core.exceptions import ValidationError


class ServiceError(Exception):
    """A refused change, with a stable machine-readable code.

    status: 400 invalid input, 403 not allowed, 409 conflict / protected,
    422 refused by a backend."""

    status = 400

    def __init__(self, message, *, code="invalid", fields=None, status=None):
        super().__init__(message)
        self.message = str(message)
        self.code = code
        self.fields = fields or {}
        if status is not None:
            self.status = status

    def __str__(self):
        return self.message


class Conflict(ServiceError):
    status = 409


def validation_error_fields(error: ValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {
            ("non_field_errors" if k == "__all__" else k): [str(m) for e in v for m in e.messages]
            for k, v in error.error_dict.items()
        }
    return {"non_field_errors": [str(m) for m in error.messages]}


def validation_error_code(error: ValidationError) -> str:
    codes = {e.code for e in error.error_list} if not hasattr(error, "error_dict") else {
        e.code for errors in error.error_dict.values() for e in errors
    }
    codes.discard(None)
    return codes.pop() if len(codes) == 1 else "invalid"

"""The request id of the current web request, shell command or Celery task (a contextvar)."""
import uuid
from contextvars import ContextVar

_request_id: ContextVar[str | None] = ContextVar("mm_request_id", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def get_request_id() -> str:
    """The current id; outside a request (shell, command) one is made on first use."""
    value = _request_id.get()
    if value is None:
        value = new_request_id()
        _request_id.set(value)
    return value


def set_request_id(value: str | None) -> None:
    _request_id.set(value or new_request_id())

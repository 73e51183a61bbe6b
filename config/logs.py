"""Logs: plain lines, or JSON lines (LOG_FORMAT=json, python-json-logger) for a log
collector. Each line carries the id of the request it belongs to, also in the tasks that
request queued (the id travels in the task message's headers), so one search finds a
request and everything it caused. A request's id is its X-Request-ID header when a proxy
sent a sensible one, else a new one; the response says which."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest, HttpResponse

NONE = "-"
HEADER = "X-Request-ID"
_SENSIBLE = re.compile(r"^[A-Za-z0-9._:-]{8,100}$")
request_id: ContextVar[str] = ContextVar("request_id", default=NONE)


class RequestIdFilter(logging.Filter):
    """Put the current request's id on every record (`-` outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class RequestId:
    """Middleware: the request's id, for its logs and in its response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        sent = request.headers.get(HEADER, "")
        found = sent if _SENSIBLE.match(sent) else uuid.uuid4().hex
        token = request_id.set(found)
        try:
            response = self.get_response(request)
        finally:
            request_id.reset(token)
        response[HEADER] = found
        return response


def add_to_task(headers: dict[str, Any] | None) -> None:
    """Celery, as a task is queued: carry the current request's id in its headers."""
    current = request_id.get()
    if headers is not None and current != NONE:
        headers.setdefault("request_id", current)


def take_from_task(task_request: Any) -> None:
    """Celery, as a task starts: log under the id of the request that queued it."""
    found = getattr(task_request, "request_id", None)
    if found is None:
        found = (getattr(task_request, "headers", None) or {}).get("request_id")
    if isinstance(found, str) and _SENSIBLE.match(found):
        request_id.set(found)


def leave_task() -> None:
    request_id.set(NONE)

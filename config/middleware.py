"""Middleware of the project's own."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from http import HTTPStatus

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

NUL_MESSAGE = "A NUL character (%00) cannot appear in an address or a query."
logger = logging.getLogger(__name__)
UNAVAILABLE_MESSAGE = "The database is not answering; try again in a few seconds."
UNAVAILABLE_RETRY_SECONDS = 5


class RejectNulCharacters:
    """400 for a request whose path or query string holds a NUL character.

    No database column can hold one and no page asks for one; refused here, it can reach
    no query (PostgreSQL refuses a NUL in text with an error, which would be a 500).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "%00" in query or "\x00" in query:
            if request.path.startswith("/api/"):
                return JsonResponse({"error": NUL_MESSAGE}, status=HTTPStatus.BAD_REQUEST)
            return HttpResponse(
                NUL_MESSAGE, status=HTTPStatus.BAD_REQUEST, content_type="text/plain"
            )
        return self.get_response(request)


class DatabaseUnavailable:
    """503 with Retry-After, not a 500 with a traceback, when the database cannot be reached
    (a restart, a failover): the request failed cleanly and the next one reconnects."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning("the database is unavailable: %s", exception)
        response: HttpResponse
        if request.path.startswith("/api/"):
            response = JsonResponse(
                {"error": UNAVAILABLE_MESSAGE}, status=HTTPStatus.SERVICE_UNAVAILABLE
            )
        else:
            response = HttpResponse(
                UNAVAILABLE_MESSAGE,
                status=HTTPStatus.SERVICE_UNAVAILABLE,
                content_type="text/plain; charset=utf-8",
            )
        response["Retry-After"] = str(UNAVAILABLE_RETRY_SECONDS)
        return response


class RequestMetrics:
    """How long each request took, by view, for /metrics (the first middleware: it times
    all the others too)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from config import metrics

        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = match.view_name if match is not None and match.view_name else "other"
        metrics.REQUEST_SECONDS.labels(
            view=view,
            method=request.method or "",
            status=metrics.status_class(response.status_code),
        ).observe(time.perf_counter() - started)
        return response

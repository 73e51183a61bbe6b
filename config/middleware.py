"""Middleware of the project's own."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse, JsonResponse

NUL_MESSAGE = "A NUL character (%00) cannot appear in an address or a query."


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

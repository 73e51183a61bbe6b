"""Every API error is `{"error": "..."}`, as Hugging Face's API answers: DRF's errors,
ours, and any path under /api/ that names nothing."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from papers.models import Paper
from papers.selectors import paper_by_id
from papers.sources.records import split_arxiv_id


class ErrorSerializer(serializers.Serializer[Any]):
    """Every API error: `{"error": "..."}`, as Hugging Face's API answers."""

    error = serializers.CharField()


# The error answers of an endpoint, for its OpenAPI description.
ERRORS = {
    HTTPStatus.BAD_REQUEST: ErrorSerializer,
    HTTPStatus.TOO_MANY_REQUESTS: ErrorSerializer,
}
MEMBER_ERRORS = {
    **ERRORS,
    HTTPStatus.UNAUTHORIZED: ErrorSerializer,
    HTTPStatus.FORBIDDEN: ErrorSerializer,
}
# A member's write to something named in the path (a paper, a comment, a collection).
WRITE_ERRORS = {**MEMBER_ERRORS, HTTPStatus.NOT_FOUND: ErrorSerializer}


def error(status: HTTPStatus, message: str, **headers: str) -> Response:
    return Response({"error": message}, status=status, headers=headers or None)


def paper_or_404(paper_id: str) -> Paper:
    """The paper of an arXiv id (a version is ignored), or the API's 404."""
    paper = paper_by_id(split_arxiv_id(paper_id)[0])
    if paper is None:
        raise exceptions.NotFound("Paper not found")
    return paper


def _error_text(detail: Any) -> str:
    if isinstance(detail, dict):
        parts = []
        for field, value in detail.items():
            text = _error_text(value)
            parts.append(text if field in ("detail", "non_field_errors") else f"{field}: {text}")
        return " ".join(parts)
    if isinstance(detail, list):
        return " ".join(_error_text(item) for item in detail)
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handling (status, Retry-After, WWW-Authenticate) with Hugging Face's body:
    `{"error": "..."}`."""
    response = drf_exception_handler(exc, context)
    if response is not None:
        response.data = {"error": _error_text(response.data)}
    return response


@csrf_exempt  # any method on any unknown path gets this 404, not the CSRF failure page
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any other path under /api/: a JSON 404, as API clients expect."""
    return JsonResponse({"error": "Not found"}, status=HTTPStatus.NOT_FOUND)

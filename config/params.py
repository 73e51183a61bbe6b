"""Query parameters every app reads the same way."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

MAX_PAGE = 10_000  # keeps the OFFSET within what every database accepts


def page_number(raw: str | None) -> int:
    """The ?page= number; anything but a positive integer is the first page."""
    try:
        return min(max(int(raw or 1), 1), MAX_PAGE)
    except ValueError:
        return 1


def safe_next(request: HttpRequest, fallback: str) -> str:
    """The `next` parameter (form or query) when it is a URL of this site, else `fallback`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return fallback

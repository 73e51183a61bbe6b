"""Operational endpoints."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from http import HTTPStatus

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def _check(name: str, probe: Callable[[], None]) -> str:
    """ "ok" or "fail"; why it failed goes to the log, never to the caller."""
    try:
        probe()
    except Exception:  # any failure means "not ready"
        logger.warning("healthz: the %s check failed", name, exc_info=True)
        return "fail"
    return "ok"


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache() -> None:
    cache.set("healthz", "ok", timeout=10)
    if cache.get("healthz") != "ok":
        raise RuntimeError("the cache did not return what was stored")


def _broker() -> None:
    import redis

    redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping()


@never_cache
@require_GET
def live(request: HttpRequest) -> HttpResponse:
    """Liveness only: the process answers (no database, cache or broker involved)."""
    return HttpResponse("ok", content_type="text/plain")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Readiness: "ok"; "degraded" when only the cache or the broker fails (pages are then
    built from the database, slower); "fail" (503) when the database fails."""
    checks = {"database": _check("database", _database), "cache": _check("cache", _cache)}
    if settings.REDIS_URL:
        checks["broker"] = _check("broker", _broker)
    if checks["database"] != "ok":
        status = "fail"
    elif any(result != "ok" for result in checks.values()):
        status = "degraded"
    else:
        status = "ok"
    code = HTTPStatus.SERVICE_UNAVAILABLE if status == "fail" else HTTPStatus.OK
    return JsonResponse({"status": status, "checks": checks}, status=code)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics, for a scraper with the bearer token (404 when none is set: the
    endpoint is not public)."""
    from config import metrics as found

    token = settings.METRICS_TOKEN
    if not token:
        return HttpResponse(status=HTTPStatus.NOT_FOUND)
    sent = request.headers.get("Authorization", "")
    if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        response = HttpResponse("A bearer token is needed.\n", status=HTTPStatus.UNAUTHORIZED)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(found.render(), content_type=found.CONTENT_TYPE)

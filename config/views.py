"""Operational endpoints."""

from __future__ import annotations

import time
from collections.abc import Callable
from http import HTTPStatus

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _check(probe: Callable[[], None]) -> dict[str, object]:
    started = time.perf_counter()
    try:
        probe()
    except Exception as exc:  # any failure means "not ready"
        return {"ok": False, "error": f"{exc.__class__.__name__}: {exc}"[:300]}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


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
    """Liveness and readiness: the database, the cache and (when configured) the broker."""
    checks = {"database": _check(_database), "cache": _check(_cache)}
    if settings.REDIS_URL:
        checks["broker"] = _check(_broker)
    ok = all(check["ok"] for check in checks.values())
    status = HTTPStatus.OK if ok else HTTPStatus.SERVICE_UNAVAILABLE
    return JsonResponse({"ok": ok, "checks": checks}, status=status)

"""Fixed-window counters in the Django cache (Redis when REDIS_URL is set: shared by every
process; in process memory otherwise)."""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


def allow(key: str, *, limit: int, window: int) -> bool:
    """Count one hit on `key`; True while there are at most `limit` in this `window` (s)."""
    bucket = f"ratelimit:{key}:{int(time.time() // window)}"
    cache.add(bucket, 0, timeout=window + 5)
    try:
        count = cache.incr(bucket)
    except ValueError:  # evicted between add and incr
        cache.set(bucket, 1, timeout=window + 5)
        count = 1
    return count <= limit


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies the address
    that many places from the right in X-Forwarded-For (the same rule as sign-in limits)."""
    proxies = getattr(settings, "ALLAUTH_TRUSTED_PROXY_COUNT", 0)
    if proxies:
        forwarded = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",")]
        forwarded = [a for a in forwarded if a]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def address_key(email: str) -> str:
    """A cache key part for an email address that does not store the address."""
    return hashlib.sha256(email.encode()).hexdigest()[:32]

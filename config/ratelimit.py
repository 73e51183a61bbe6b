"""Rate limits that are exact and cost no round trip on most calls.

A client's budget for a window (say 600 calls a minute) lives in Redis and starts with its
first call. Each process does not ask Redis for every call: it leases a part of the budget
(one call, then twice as many each time a lease is used up, at most LEASE_MAX) and spends
it locally. Redis never hands out more than the budget, so no client ever gets more than
its limit; leases shrink as the budget runs low (at most an eighth of what is left), so
what other processes hold unused when it runs out, and therefore how early a client can
be refused, stays small. A process that heard "nothing left" refuses until the window
ends without asking again.

A busy client thus costs one round trip per lease instead of one per call. Without Redis
(the embedded mode) the cache counts every call; each process counts its own. While Redis
is unreachable, calls are let through uncounted (and logged): the site stays up.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest
from redis.exceptions import RedisError
from rest_framework.throttling import BaseThrottle

logger = logging.getLogger(__name__)

LEASE_MAX = 64
_LOCAL_LIMIT = 50_000  # clients whose leases a process keeps before it sweeps ended ones

# KEYS[1]: the budget; ARGV: limit, window seconds, calls wanted. Returns the calls granted
# and the milliseconds left in the window.
_LEASE = """
local left = redis.call('GET', KEYS[1])
if not left then
  left = tonumber(ARGV[1])
  redis.call('SET', KEYS[1], left, 'EX', ARGV[2])
else
  left = tonumber(left)
end
local take = math.min(tonumber(ARGV[3]), math.max(1, math.floor(left / 8)), left)
if take > 0 then
  redis.call('DECRBY', KEYS[1], take)
end
return {take, redis.call('PTTL', KEYS[1])}
"""


class _Lease:
    __slots__ = ("ends", "left", "next_size", "spent")

    def __init__(self, *, left: int, ends: float, next_size: int, spent: bool) -> None:
        self.left = left
        self.ends = ends  # time.monotonic() when the window ends
        self.next_size = next_size
        self.spent = spent  # Redis said the budget is used up


_leases: dict[str, _Lease] = {}
_lock = threading.Lock()
_scripts: dict[int, Any] = {}


def take(key: str, limit: int, period: int) -> tuple[bool, float]:
    """Count one call by the client `key` (at most `limit` in `period` seconds): whether
    it is allowed, and the seconds until the client's window ends."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        count, left = _count(backend, key, period)
        return count <= limit, left
    now = time.monotonic()
    with _lock:
        lease = _leases.get(key)
        if lease is not None and now < lease.ends:
            if lease.left > 0:
                lease.left -= 1
                return True, lease.ends - now
            if lease.spent:
                return False, lease.ends - now
            wanted = lease.next_size
        else:
            wanted = 1
    name = backend.make_and_validate_key(key)
    try:
        client = backend._cache.get_client(name, write=True)
        script = _scripts.get(id(client))
        if script is None:
            script = _scripts[id(client)] = client.register_script(_LEASE)
        granted, ttl_ms = script(keys=[name], args=[limit, period, wanted])
    except (RedisError, OSError):
        # Redis is down: the site keeps answering, uncounted, until it is back.
        logger.warning("rate limits: Redis is unreachable; %s not counted", key)
        return True, float(period)
    seconds = max(int(ttl_ms), 1) / 1000 if int(ttl_ms) > 0 else float(period)
    with _lock:
        if len(_leases) > _LOCAL_LIMIT:
            for old in [k for k, v in _leases.items() if v.ends <= now]:
                del _leases[old]
        _leases[key] = _Lease(
            left=max(int(granted) - 1, 0),
            ends=now + seconds,
            next_size=min(wanted * 2, LEASE_MAX),
            spent=int(granted) == 0,
        )
    return int(granted) > 0, seconds


def _count(backend: Any, key: str, period: int) -> tuple[int, float]:
    """Any other cache: count every call in a window that starts at the first one."""
    now = time.time()
    backend.add(f"{key}:start", now, period)
    backend.add(key, 0, period)
    try:
        count = backend.incr(key)
    except ValueError:  # expired between the two calls
        backend.set(key, 1, period)
        count = 1
    started = backend.get(f"{key}:start", now)
    return count, max(period - (now - started), 1.0)


def forget() -> None:
    """Drop this process's leases (after the shared cache was emptied)."""
    with _lock:
        _leases.clear()


def client_ip(request: HttpRequest) -> str:
    """The client's address, by DRF's rule (NUM_PROXIES, set from TRUSTED_PROXY_COUNT):
    REMOTE_ADDR, or behind N proxies the Nth address from the right in X-Forwarded-For.
    Sign-in limits use the same count (ALLAUTH_TRUSTED_PROXY_COUNT)."""
    return BaseThrottle().get_ident(request) or "unknown"  # type: ignore[arg-type]

"""Django's Redis cache, keeping one client per connection pool; a rate counter.

Django builds a new `redis.Redis` client for every cache operation; with redis-py 5+ that
costs about 0.5 ms each (it rebuilds its table of response callbacks), several times per
request. A client is thread-safe and holds no connection of its own, so one per pool does.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            pool = self._get_connection_pool(write)
            client = self._clients[index] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient


def count_hit(key: str, period: int) -> tuple[int, float]:
    """Count one hit on the counter `key`, which lives `period` seconds from its first hit.

    Returns the count so far and the seconds until the counter starts again. On Redis this is
    one round trip (INCR, EXPIRE NX and TTL in a pipeline); other backends take a few calls.
    """
    backend = caches["default"]
    if isinstance(backend, DjangoRedisCache):
        name = backend.make_and_validate_key(key)
        pipeline = backend._cache.get_client(name, write=True).pipeline(transaction=False)
        pipeline.incr(name)
        pipeline.expire(name, period, nx=True)
        pipeline.ttl(name)
        count, _, ttl = pipeline.execute()
        return int(count), float(ttl if ttl > 0 else period)
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

"""Django's Redis cache, keeping one client per connection pool; rate counters; a small
in-process cache of byte strings.

Django builds a new `redis.Redis` client for every cache operation; with redis-py 5+ that
costs about 0.5 ms each (it rebuilds its table of response callbacks), several times per
request. A client is thread-safe and holds no connection of its own, so one per pool does.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
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


class LocalBytesCache:
    """A small in-process LRU of byte strings, bounded by their total size.

    For bodies that every request would otherwise fetch whole from Redis: the caller keeps a
    version with each entry and checks it against the shared cache, so a stale copy is
    never served.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, tuple[Any, bytes]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[Any, bytes] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def set(self, key: str, version: Any, body: bytes) -> None:
        if len(body) > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._size -= len(old[1])
            self._entries[key] = (version, body)
            self._size += len(body)
            while self._size > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._size -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._size = 0

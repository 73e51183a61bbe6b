"""Django's Redis cache, keeping one client per connection pool; rate counters; a small
in-process cache of byte strings; a counter each process can read without a round trip.

Django builds a new `redis.Redis` client for every cache operation; with redis-py 5+ that
costs about 0.5 ms each (it rebuilds its table of response callbacks), several times per
request. A client is thread-safe and holds no connection of its own, so one per pool does.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
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


class WatchedCounter:
    """A counter in the shared cache of which each process keeps a copy, kept current through
    Redis pub/sub, so that reading it seldom costs a round trip.

    Every change is published; a thread in each process listens and drops its copy, and the
    next read fetches the counter again. The copy is trusted only while the listener proves
    its subscription alive (a PING answered within the last few seconds): before that, after
    a lost connection, and on backends other than Redis, every read asks the cache.
    """

    PING_SECONDS = 1.0

    def __init__(self, key: str, *, start: Callable[[], int]) -> None:
        self.key = key
        self._start = start  # the first value, when the cache has none
        self._lock = threading.Lock()
        self._pid: int | None = None  # the process whose listener runs
        self._copy: int | None = None
        self._generation = 0  # moves with every dropped copy
        self._alive_until = 0.0  # time.monotonic() until which the copy is trusted

    def get(self) -> int:
        backend = caches["default"]
        watched = isinstance(backend, DjangoRedisCache)
        generation = 0
        if watched:
            self._watch(backend)
            with self._lock:
                if self._copy is not None and time.monotonic() < self._alive_until:
                    return self._copy
                generation = self._generation
        value = backend.get(self.key)
        if value is None:
            backend.add(self.key, self._start(), timeout=None)
            value = backend.get(self.key)
        value = int(value)
        if watched:
            with self._lock:
                if self._generation == generation:  # no change was announced meanwhile
                    self._copy = value
        return value

    def bump(self) -> None:
        """Change the counter and announce it: one round trip on Redis."""
        backend = caches["default"]
        self.forget()
        if not isinstance(backend, DjangoRedisCache):
            try:
                backend.incr(self.key)
            except ValueError:  # not set yet (or evicted): any new value will do
                backend.set(self.key, self._start(), timeout=None)
            return
        name = backend.make_and_validate_key(self.key)
        client = backend._cache.get_client(name, write=True)
        channel = self._channel(client, name)
        pipeline = client.pipeline(transaction=False)
        pipeline.incr(name)
        pipeline.publish(channel, b"")
        value, _ = pipeline.execute()
        if value == 1:  # there was no counter: start from a value no process has seen
            backend.set(self.key, self._start(), timeout=None)
            client.publish(channel, b"")

    def forget(self) -> None:
        """Drop this process's copy: the next read asks the cache."""
        with self._lock:
            self._copy = None
            self._generation += 1

    @staticmethod
    def _channel(client: Any, name: str) -> str:
        # Channels are shared by all of a server's databases: name the database too.
        return f"{name}:changed:db{client.connection_pool.connection_kwargs.get('db', 0)}"

    def _watch(self, backend: DjangoRedisCache) -> None:
        """Start this process's listener (once per process: a forked worker starts its own)."""
        pid = os.getpid()
        if self._pid == pid:
            return
        with self._lock:
            if self._pid == pid:
                return
            self._pid = pid
            self._copy = None
            self._alive_until = 0.0
        threading.Thread(
            target=self._listen, args=(backend,), name=f"watch {self.key}", daemon=True
        ).start()

    def _listen(self, backend: DjangoRedisCache) -> None:
        name = backend.make_and_validate_key(self.key)
        while True:
            try:
                client = backend._cache.get_client(name)
                pubsub = client.pubsub()
                pubsub.subscribe(self._channel(client, name))
                pinged = 0.0
                while True:
                    if time.monotonic() - pinged >= self.PING_SECONDS:
                        pubsub.ping()
                        pinged = time.monotonic()
                    message = pubsub.get_message(timeout=self.PING_SECONDS)
                    if message is None:
                        continue
                    if message["type"] == "pong":
                        with self._lock:
                            self._alive_until = pinged + 3 * self.PING_SECONDS
                    else:  # a change, or (re)subscribed: what came before is unknown
                        self.forget()
            except Exception:  # a lost connection: ask the cache until it is back
                with self._lock:
                    self._alive_until = 0.0
                time.sleep(self.PING_SECONDS)

"""Entries: values built once, kept in this process and in the shared cache, fresh while
the generations of the scopes they show are unchanged, rebuilt by one request at a time.

`fetch(key, build, scopes=...)` returns an entry for `key`:

1. this process's copy, when it is fresh (no round trip at all);
2. else the shared cache's copy (one round trip), when it is fresh;
3. else a rebuild. While one request rebuilds (it holds a short lock in the shared cache),
   every other request is answered with the previous copy, if that copy is only softly
   out of date (counts, order). The same copy is also served without trying to rebuild
   while it is younger than REFRESH_SECONDS, so an entry that changes ten times a second
   is still rebuilt at most once a second. A hard change (a hidden paper) is never served
   from an old copy.

So an answer shows a soft change within REFRESH_SECONDS plus the time of one rebuild, and
within LOCK_SECONDS at worst (when the request rebuilding it fails).

Generations are read before the build for the scopes known in advance, so a change that
lands during the build makes the entry out of date at once. Scopes the build discovers
(the papers a search found) are read after it; if any change was announced meanwhile the
entry is stored as softly out of date, and the next request rebuilds it. When the shared
cache is down, every request builds from the database.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Generic, NamedTuple, TypeVar

from django.core.cache import cache
from redis.exceptions import RedisError

from caching.generations import ALL, generations
from config import metrics, replicas

logger = logging.getLogger(__name__)
CACHE_DOWN = (RedisError, OSError)

REFRESH_SECONDS = 1.0  # a changing entry is rebuilt at most this often
LOCK_SECONDS = 5  # how long the others wait for one rebuild, at worst
RECHECK_SECONDS = 0.05  # how often the others look for the rebuilt copy meanwhile
DEFAULT_TTL = 600  # seconds an entry is kept in the shared cache
NEAR_BYTES = 64 * 2**20  # this process's copies
# Part of every shared key: change it with the shape of what is kept, so that processes
# running the new code never read entries written by the old.
SHAPES = "2026-12-03.1"


class Built(NamedTuple):
    """What a builder returns: the value, the scopes it found it depends on, its size."""

    value: Any
    scopes: Iterable[str] = ()
    size: int = 0


K = TypeVar("K")
V = TypeVar("V")


class Entry(NamedTuple):
    value: Any
    deps: tuple[tuple[str, int, int], ...]  # (scope, soft, hard) when it was built
    snapshot_at: float  # time.time() when the generations were read, before the build
    built_at: float  # time.time() when the build ended
    doubtful: bool  # a change may have landed while it was built
    size: int


class State(enum.Enum):
    FRESH = "fresh"
    SOFT = "soft"  # out of date in what may be shown late (counts, order)
    HARD = "hard"  # out of date in what must show at once


class LRU(Generic[K, V]):
    """A small in-process least-recently-used map, bounded by the size of its values."""

    every: weakref.WeakSet[LRU[Any, Any]] = weakref.WeakSet()  # for forget()

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        LRU.every.add(self)

    def get(self, key: K) -> V | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: K, value: V, size: int) -> None:
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= old[1]
            self._items[key] = (value, size)
            self._size += size
            while self._size > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self._size -= dropped

    def keys(self) -> list[K]:
        with self._lock:
            return list(self._items)

    def values(self) -> list[V]:
        with self._lock:
            return [value for value, _size in self._items.values()]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0


near: LRU[str, Entry] = LRU(NEAR_BYTES)
# Keys another process is rebuilding: until when this one serves its copy without asking.
_elsewhere: dict[str, float] = {}


def state(entry: Entry, *, now: float, max_age: float) -> State:
    """How current `entry` is."""
    current = generations.read([scope for scope, _soft, _hard in entry.deps])
    fresh = not entry.doubtful and now - entry.built_at <= max_age
    for scope, soft, hard in entry.deps:
        now_soft, now_hard = current[scope]
        if now_hard != hard:
            return State.HARD
        if now_soft != soft:
            fresh = False
    return State.FRESH if fresh else State.SOFT


def shared_key(key: str) -> str:
    digest = hashlib.blake2b(f"{SHAPES}|{key}".encode(), digest_size=16).hexdigest()
    return f"cache:entry:{digest}"


def fetch(
    key: str,
    build: Callable[[], Built],
    *,
    scopes: Iterable[str] = (),
    ttl: int = DEFAULT_TTL,
    max_age: float = DEFAULT_TTL,
) -> Entry:
    """The entry kept under `key`, built by `build` when there is no usable copy.

    `scopes`: what the entry depends on, known before building it; `build` may add more.
    `max_age`: seconds after which an entry is out of date whatever changed (for what
    moves with time, like the trending ranking).
    """
    now = time.time()
    shared = shared_key(key)
    try:
        usable, previous = _lookup(key, shared, now=now, max_age=max_age)
    except CACHE_DOWN:
        logger.warning("caching: the shared cache is down; building %s", key, exc_info=True)
        metrics.CACHE_LOOKUPS.labels(layer="miss").inc()
        return build_entry(build, scopes=scopes)
    if usable is not None:
        return usable
    lock = f"{shared}:rebuilding"
    if previous is not None and not quietly(cache.add, lock, 1, timeout=LOCK_SECONDS):
        # Somebody else is rebuilding it (or the cache just went down): serve this copy,
        # and do not ask the shared cache again for a moment.
        if len(_elsewhere) > 10_000:
            _elsewhere.clear()
        _elsewhere[key] = now + RECHECK_SECONDS
        near.put(key, previous, previous.size)
        metrics.CACHE_LOOKUPS.labels(layer="stale").inc()
        return previous
    metrics.CACHE_LOOKUPS.labels(layer="miss").inc()
    try:
        entry = build_entry(build, scopes=scopes)
        quietly(cache.set, shared, entry, timeout=ttl)
        near.put(key, entry, entry.size)
    finally:
        if previous is not None:
            quietly(cache.delete, lock)
    return entry


def peek(key: str, *, max_age: float = DEFAULT_TTL) -> Entry | None:
    """The entry kept under `key` if it may be served now (never builds, never waits)."""
    try:
        usable, _previous = _lookup(key, shared_key(key), now=time.time(), max_age=max_age)
    except CACHE_DOWN:
        return None
    return usable


def _lookup(
    key: str, shared: str, *, now: float, max_age: float
) -> tuple[Entry | None, Entry | None]:
    """A copy that may be served (this process's, or else the shared cache's), and the
    newest copy that is only softly out of date (served while somebody rebuilds)."""
    candidates: list[Entry] = []
    for source in ("near", "shared"):
        entry = near.get(key) if source == "near" else cache.get(shared)
        if entry is None:
            continue
        found = state(entry, now=now, max_age=max_age)
        if found is State.FRESH or (
            found is State.SOFT
            and (now - entry.built_at < REFRESH_SECONDS or _elsewhere.get(key, 0.0) > now)
        ):
            if source == "shared":
                near.put(key, entry, entry.size)
            metrics.CACHE_LOOKUPS.labels(layer="process" if source == "near" else "shared").inc()
            return entry, None
        if found is State.SOFT:
            candidates.append(entry)
    return None, max(candidates, key=lambda e: e.built_at, default=None)


def quietly(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """A shared-cache call whose failure only costs the sharing (False when it failed)."""
    try:
        return call(*args, **kwargs)
    except CACHE_DOWN:
        logger.warning("caching: the shared cache is down", exc_info=True)
        return False


def build_entry(build: Callable[[], Built], *, scopes: Iterable[str] = ()) -> Entry:
    """Run `build` and record the generations it was built against (see the docstring).

    Without the generations (the shared cache is down) the entry can never be fresh. Built
    from a read replica, it is built again from the primary when a scope it found changed
    more recently than the replica may lag (config/replicas.py)."""
    seq = generations.seq
    snapshot_at = time.time()
    try:
        known = generations.read([ALL, *scopes])
    except CACHE_DOWN:
        known = None
    on_replica = replicas.reading_replica()
    built = build()
    found = _discovered(built, known)
    if on_replica and not replicas.reading_replica():
        built = build()
        found = _discovered(built, known)
    if known is None or found is None:
        return Entry(built.value, ((ALL, -1, -1),), snapshot_at, time.time(), True, built.size)
    doubtful = bool(found) and generations.seq != seq
    deps = tuple((scope, soft, hard) for scope, (soft, hard) in {**known, **found}.items())
    return Entry(built.value, deps, snapshot_at, time.time(), doubtful, built.size)


def _discovered(
    built: Built, known: dict[str, tuple[int, int]] | None
) -> dict[str, tuple[int, int]] | None:
    """The generations of the scopes `built` found that were not known before it (None
    without the generations)."""
    if known is None:
        return None
    discovered = [s for s in dict.fromkeys(built.scopes) if s not in known]
    try:
        return generations.read(discovered) if discovered else {}
    except CACHE_DOWN:
        return None


def forget() -> None:
    """Drop everything this process keeps (after the shared cache was emptied)."""
    for kept in list(LRU.every):
        kept.clear()
    _elsewhere.clear()
    generations.forget()

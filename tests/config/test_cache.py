from __future__ import annotations

import os
import time

import pytest
from django.conf import settings
from django.core.cache import cache, caches


@pytest.mark.skipif(not settings.REDIS_URL, reason="the Redis cache needs REDIS_URL")
def test_redis_cache_reuses_one_client_and_still_works():
    cache.set("cache-test", {"a": 1}, timeout=30)

    client = cache._cache.get_client()
    assert cache._cache.get_client(write=True) is client
    assert cache.get("cache-test") == {"a": 1}
    assert cache.add("cache-test-n", 1)
    assert cache.incr("cache-test-n") == 2
    assert cache.delete("cache-test")
    assert cache.get("cache-test") is None


def test_count_hit_counts_in_a_window_that_starts_at_the_first_hit():
    from config.cache import count_hit

    first, left = count_hit("hits-test", 60)
    second, left_after = count_hit("hits-test", 60)
    other, _ = count_hit("hits-other", 60)

    assert (first, second, other) == (1, 2, 1)
    assert 0 < left_after <= left <= 60


@pytest.mark.skipif(not settings.REDIS_URL, reason="the Redis cache needs REDIS_URL")
def test_count_hit_is_one_round_trip_on_redis_and_the_counter_expires(monkeypatch):
    from redis.client import Pipeline

    from config.cache import count_hit

    sent: list[int] = []
    execute = Pipeline.execute
    monkeypatch.setattr(
        Pipeline, "execute", lambda self, *a, **k: sent.append(1) or execute(self, *a, **k)
    )

    count, left = count_hit("hits-redis", 2)

    assert (count, sent) == (1, [1])
    assert 0 < left <= 2
    name = cache.make_and_validate_key("hits-redis")
    assert 0 < cache._cache.get_client().pttl(name) <= 2000


def test_the_local_bytes_cache_keeps_the_most_recent_entries_within_its_size():
    from config.cache import LocalBytesCache

    local = LocalBytesCache(max_bytes=10)
    local.set("a", 1, b"aaaa")
    local.set("b", 1, b"bbbb")
    assert local.get("a") == (1, b"aaaa")  # now the most recently used
    local.set("c", 2, b"cccc")  # over 10 bytes: the least recently used (b) goes
    local.set("huge", 1, b"x" * 11)  # larger than the whole cache: not kept

    assert local.get("b") is None
    assert local.get("huge") is None
    assert local.get("a") == (1, b"aaaa")
    assert local.get("c") == (2, b"cccc")


def _wait_for(condition, seconds=3.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.mark.skipif(not settings.REDIS_URL, reason="the Redis cache needs REDIS_URL")
def test_a_watched_counter_is_read_without_a_round_trip_and_follows_other_processes(
    monkeypatch,
):
    from config.cache import WatchedCounter

    mine = WatchedCounter("watched-test", start=lambda: 100)
    theirs = WatchedCounter("watched-test", start=lambda: 100)  # another process's copy
    assert mine.get() == 100
    _wait_for(lambda: mine._alive_until > time.monotonic())  # the listener is subscribed
    mine.get()  # keeps a copy

    reads = []
    backend = type(caches["default"])
    original = backend.get
    monkeypatch.setattr(
        backend,
        "get",
        lambda self, *a, **k: reads.append(a) or original(self, *a, **k),
    )
    assert mine.get() == 100
    assert reads == []

    theirs.bump()
    _wait_for(lambda: mine.get() == 101)
    assert reads  # the announcement dropped the copy: that read asked Redis


@pytest.mark.skipif(not settings.REDIS_URL, reason="the Redis cache needs REDIS_URL")
def test_without_a_live_subscription_every_read_asks_the_cache():
    from config.cache import WatchedCounter

    counter = WatchedCounter("watched-dead", start=lambda: 7)
    counter._pid = os.getpid()  # its listener never subscribes, as with a lost connection
    assert counter.get() == 7

    cache.incr("watched-dead")  # a change whose announcement was lost

    assert counter.get() == 8


@pytest.mark.skipif(not settings.REDIS_URL, reason="the Redis cache needs REDIS_URL")
def test_a_bump_is_one_round_trip_and_never_restarts_the_counter_at_one(monkeypatch):
    from redis.client import Pipeline

    from config.cache import WatchedCounter

    counter = WatchedCounter("watched-bump", start=lambda: 5_000)
    assert counter.get() == 5_000
    sent: list[int] = []
    execute = Pipeline.execute
    monkeypatch.setattr(
        Pipeline, "execute", lambda self, *a, **k: sent.append(1) or execute(self, *a, **k)
    )

    counter.bump()
    assert (counter.get(), sent) == (5_001, [1])

    cache.delete("watched-bump")  # evicted
    counter.bump()
    assert counter.get() == 5_000  # from `start`, not 1

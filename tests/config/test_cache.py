from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import cache


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

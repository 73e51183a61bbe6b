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

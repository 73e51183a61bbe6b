"""Bodies cached per feed version: one shared-cache round trip per hit, never a stale copy."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache, caches

from config.cache import WatchedCounter
from papers import selectors


@pytest.fixture
def shared_reads(monkeypatch):
    """Count the reads of the shared cache (get and get_many)."""
    calls: list[str] = []
    backend = type(caches["default"])
    for name in ("get", "get_many"):
        original = getattr(backend, name)

        def counting(self, *args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(backend, name, counting)
    return calls


def test_a_body_cached_for_the_current_version_comes_back_in_one_read_at_most(shared_reads):
    version, missing = selectors.cached_for_feed("t:page")
    selectors.cache_for_feed("t:page", version, b"<html>", timeout=60)
    shared_reads.clear()

    assert missing is None
    assert selectors.cached_for_feed("t:page") == (version, b"<html>")
    assert len(shared_reads) <= 1  # none when this process's copy of the version is current


def test_a_bump_in_another_process_makes_this_process_copy_stale():
    version, _ = selectors.cached_for_feed("t:page")
    selectors.cache_for_feed("t:page", version, b"old", timeout=60)

    # Another process's upvote: its own copy of the counter bumps and announces it.
    WatchedCounter(selectors._FEED_VERSION_KEY, start=lambda: 1).bump()

    deadline = time.monotonic() + 2
    while selectors.feed_version() == version and time.monotonic() < deadline:
        time.sleep(0.01)  # on Redis, the announcement takes a moment to arrive
    assert selectors.cached_for_feed("t:page") == (version + 1, None)


def test_after_the_shared_cache_is_emptied_old_copies_are_not_served():
    version, _ = selectors.cached_for_feed("t:page")
    selectors.cache_for_feed("t:page", version, b"old", timeout=60)

    cache.clear()  # a restarted Redis: the version starts again, at a new random number
    selectors.forget_feed_version()

    new_version, body = selectors.cached_for_feed("t:page")
    assert new_version != version
    assert body is None


def test_a_body_built_while_the_version_moved_is_never_served():
    version, _ = selectors.cached_for_feed("t:page")
    selectors.bump_feed_version()  # an upvote lands while the page is being built
    selectors.cache_for_feed("t:page", version, b"built before the upvote", timeout=60)

    assert selectors.cached_for_feed("t:page")[1] is None


@pytest.mark.django_db
def test_the_search_ranking_is_kept_until_the_papers_change():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import PaperFactory

    PaperFactory(title="Diffusion models for proteins")
    PaperFactory(title="Diffusion transformers at scale")

    first = selectors.top_matches("diffusion", limit=10)
    with CaptureQueriesContext(connection) as again:
        second = selectors.top_matches("diffusion", limit=10)
    selectors.bump_feed_version()
    with CaptureQueriesContext(connection) as after_a_change:
        selectors.top_matches("diffusion", limit=10)

    assert [p.pk for p in second] == [p.pk for p in first]
    assert len(first) == 2
    assert len(again) == 1  # the papers by id; the ranking came from the cache
    assert len(after_a_change) == 2  # ranked again, then the papers

"""The shared cast and helpers: members, staff, recorded payloads, database checks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.db import connection

FIXTURES = Path(__file__).parent / "fixtures"
HF_DAILY = FIXTURES / "hf_daily_papers_2026-06-12.json"
HF_PAPER = FIXTURES / "hf_paper_info_2608.09888.json"
HF_SEARCH = FIXTURES / "hf_papers_search_kazakh.json"
ARXIV_ATOM = FIXTURES / "arxiv_api_query_2016.xml"
ARXIV_RSS = FIXTURES / "arxiv_rss_cs.AI_2026-04-27.xml"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`postgres` tests run in the PostgreSQL pass (CI runs both passes) and skip on SQLite.

    With DATABASE_URL set, an unreachable PostgreSQL fails the run; it is never skipped.
    """
    if os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgresql")):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fast_sources(settings):
    """No politeness pauses against local test servers; tests that check pacing set them.
    A fast password hasher: tests create many members."""
    settings.ARXIV_DELAY_SECONDS = 0
    settings.SOURCE_BACKOFF_SECONDS = 0.01
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_cache(monkeypatch):
    """Each test starts with an empty cache (Redis in CI), as it does with an empty database.

    Cached answers show a change at the next request: tests of the one-second bound
    (tests/papers/test_caching.py) set it back."""
    from django.core.cache import cache

    from caching import store
    from config import ratelimit
    from papers import vectors

    monkeypatch.setattr(store, "REFRESH_SECONDS", 0.0)
    cache.clear()
    store.forget()
    ratelimit.forget()
    vectors.forget()
    yield
    cache.clear()
    store.forget()
    ratelimit.forget()
    vectors.forget()


@pytest.fixture(autouse=True)
def _eager_celery():
    """Tasks run in the test's process, with or without REDIS_URL (tests/test_celery.py and
    tests/test_worker_killed.py run real workers, and say so)."""
    from config.celery import app as celery_app

    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = before


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run a write and what it announces on commit, as a request would: the test's
    transaction never commits, so what waits for the commit runs at the end of the write."""

    def run(write):
        with django_capture_on_commit_callbacks(execute=True):
            return write()

    return run


@pytest.fixture
def fixture_bytes():
    return lambda path: Path(path).read_bytes()


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def alice(django_user_model):
    """A member."""
    return django_user_model.objects.create_user("alice", "alice@example.org", "pw-alice-123!")


@pytest.fixture
def bob(django_user_model):
    """Another member."""
    return django_user_model.objects.create_user("bob", "bob@example.org", "pw-bob-123!")


@pytest.fixture
def staff(django_user_model):
    """A moderator with admin access."""
    return django_user_model.objects.create_superuser("staff", "staff@example.org", "pw-staff-1!")

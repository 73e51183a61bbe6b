"""The Celery app, its beat schedule and the lock that keeps periodic jobs from overlapping.

Redis is the broker when REDIS_URL is set; without it (the embedded mode) tasks run eagerly
in the process that queues them. Every setting is in config/settings.py under `# Celery`.
"""

from __future__ import annotations

import functools
import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from celery import Celery
from celery.schedules import crontab, schedule
from celery.signals import before_task_publish, task_failure, task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

logger = logging.getLogger(__name__)

app = Celery("dailypapers")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def beat_schedule() -> dict[str, dict[str, Any]]:
    """The periodic jobs, with their times (UTC) read from the settings."""
    from django.conf import settings

    hf_every = timedelta(minutes=settings.INGEST_HF_EVERY_MINUTES)
    retry_every = timedelta(minutes=settings.DIGEST_RETRY_EVERY_MINUTES)
    return {
        "ingest-hf-daily-papers": {
            "task": "papers.ingest_hf",
            "schedule": schedule(hf_every),
            # A run that waited longer than the interval in the queue is replaced by the next.
            "options": {"expires": hf_every.total_seconds()},
        },
        "ingest-arxiv-listings": {
            "task": "papers.ingest_arxiv_listings",
            "schedule": crontab(minute=15, hour=settings.ARXIV_INGEST_HOUR),
            "options": {"expires": 12 * 3600},
        },
        "harvest-arxiv-oai": {
            "task": "papers.harvest_oai",
            "schedule": crontab(minute=30, hour=settings.ARXIV_OAI_HOUR),
            "options": {"expires": 12 * 3600},
        },
        "send-daily-digests": {
            "task": "digests.send_due",
            "schedule": crontab(minute=0, hour=settings.DIGEST_DAILY_HOUR, day_of_week="mon-fri"),
            "kwargs": {"frequency": "daily"},
        },
        "send-weekly-digests": {
            "task": "digests.send_due",
            "schedule": crontab(minute=0, hour=settings.DIGEST_WEEKLY_HOUR, day_of_week="mon"),
            "kwargs": {"frequency": "weekly"},
        },
        "retry-digest-deliveries": {
            "task": "digests.send_retries",
            "schedule": schedule(retry_every),
            "options": {"expires": retry_every.total_seconds()},
        },
        "remind-unconfirmed-subscribers": {
            "task": "digests.remind_unconfirmed",
            "schedule": crontab(minute=30),
            "options": {"expires": 3600},
        },
        "mail-comment-notifications": {
            "task": "discussions.mail_notifications",
            "schedule": crontab(minute="*/5"),
            "options": {"expires": 300},
        },
        "post-to-team-channels": {
            "task": "broadcasts.post_due",
            "schedule": schedule(timedelta(minutes=5)),
            "options": {"expires": 300},
        },
        "check-health": {
            "task": "operations.check_health",
            "schedule": crontab(minute=50),
            "options": {"expires": 3600},
        },
        "build-vector-index": {
            "task": "papers.build_vector_index",
            "schedule": crontab(minute=30, hour=settings.VECTOR_INDEX_HOUR),
            "options": {"expires": 12 * 3600},
        },
        "purge-unconfirmed-subscriptions": {
            "task": "digests.purge_unconfirmed",
            "schedule": crontab(minute=45, hour=3),
            "options": {"expires": 12 * 3600},
        },
    }


@before_task_publish.connect
def _carry_request_id(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    from config import logs

    logs.add_to_task(headers)


@task_prerun.connect
def _take_request_id(task: Any = None, **kwargs: Any) -> None:
    from config import logs

    logs.take_from_task(getattr(task, "request", None))


@task_postrun.connect
def _leave_request_id(**kwargs: Any) -> None:
    from config import logs

    logs.leave_task()


@task_failure.connect
def _count_failure(sender: Any = None, **kwargs: Any) -> None:
    """Every task that raised, for /metrics (counted in the worker's process)."""
    from config import metrics

    metrics.TASK_FAILURES.labels(task=getattr(sender, "name", "unknown")).inc()


@app.on_after_configure.connect
def _install_beat_schedule(sender: Celery, **kwargs: Any) -> None:
    sender.conf.beat_schedule = beat_schedule()


def retry_on_network(*errors: type[BaseException]) -> dict[str, Any]:
    """Task options: retry with exponential backoff and jitter, only on these network errors
    (and a lost database connection), a bounded number of times."""
    from django.db import InterfaceError, OperationalError

    return {
        "autoretry_for": (OperationalError, InterfaceError, *errors),
        "retry_backoff": 5,
        "retry_backoff_max": 600,
        "retry_jitter": True,
        "max_retries": 5,
    }


@functools.cache
def _redis(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url)


@contextmanager
def single_run(name: str, *, timeout: float | None = None) -> Iterator[bool]:
    """Hold the lock `name` while the block runs; yields False at once if another holds it.

    With REDIS_URL, a Redis lock (SET NX PX with a token, released only by its owner), so
    two beats, two workers or a slow run never overlap. Without it, the Django cache (in
    process memory in the embedded mode, where tasks run eagerly). The lock expires after
    `timeout` seconds (default: the hard task time limit, after which the holder is gone).
    """
    from django.conf import settings

    ttl = float(timeout or settings.CELERY_TASK_TIME_LIMIT)
    if settings.REDIS_URL:
        from redis.exceptions import LockError

        lock = _redis(settings.REDIS_URL).lock(f"dp:lock:{name}", timeout=ttl, blocking=False)
        acquired = bool(lock.acquire(blocking=False))
        try:
            yield acquired
        finally:
            if acquired:
                try:
                    lock.release()
                except LockError:
                    logger.warning("lock %s expired before its job ended", name)
        return

    from django.core.cache import cache

    key, token = f"lock:{name}", uuid.uuid4().hex
    acquired = cache.add(key, token, timeout=ttl)
    try:
        yield acquired
    finally:
        if acquired and cache.get(key) == token:
            cache.delete(key)

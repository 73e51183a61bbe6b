"""Prometheus metrics, served at /metrics to a scraper that sends METRICS_TOKEN.

With PROMETHEUS_MULTIPROC_DIR set (the full stack: several gunicorn workers and the Celery
worker), each process writes its values to files in that folder and /metrics adds them
all up (prometheus_client's multiprocess mode), so a scrape sees every web process and the
worker's tasks. Without it (`make run`) the values live in the one process, which also runs
the tasks. The folder is emptied when the stack starts (the compose `migrate` service).

Each process's files are named after its host and its pid: the containers of a scaled
stack (`--scale web=4`) share the folder, and each numbers its own processes from 1.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Iterator

_folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _folder:
    os.makedirs(_folder, exist_ok=True)  # before prometheus_client writes its first value

from prometheus_client import (  # noqa: E402  (after the folder exists)
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric  # noqa: E402
from prometheus_client.registry import Collector  # noqa: E402

CONTENT_TYPE = CONTENT_TYPE_LATEST
_HOST = socket.gethostname()  # a container's id under docker
if _folder:
    values.ValueClass = values.MultiProcessValue(  # type: ignore[no-untyped-call]
        lambda: f"{_HOST}_{os.getpid()}"
    )

REQUEST_SECONDS = Histogram(
    "dailypapers_request_duration_seconds",
    "Time to answer a request, by view (its URL name), method and status class.",
    ["view", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
CACHE_LOOKUPS = Counter(
    "dailypapers_cache_lookups_total",
    "Cached reads, by where the answer came from: this process (process), the shared cache "
    "(shared), a slightly old copy served while another process rebuilds it (stale), or "
    "built again (miss).",
    ["layer"],
)
VOTES = Counter("dailypapers_votes_total", "Upvotes given (up) and taken back (down).", ["action"])
COMMENTS = Counter("dailypapers_comments_total", "Comments posted.")
INGEST_RUNS = Counter(
    "dailypapers_ingest_runs_total", "Ingestion runs, by source and outcome.", ["source", "status"]
)
INGEST_RECORDS = Counter(
    "dailypapers_ingest_records_total",
    "Records ingested, by source and what became of them.",
    ["source", "outcome"],
)
INGEST_SECONDS = Histogram(
    "dailypapers_ingest_duration_seconds",
    "How long an ingestion run took, by source.",
    ["source"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800),
)
DIGESTS = Counter(
    "dailypapers_digests_total",
    "Digest mails, by period kind and outcome (sent, failed, skipped, retrying).",
    ["frequency", "outcome"],
)
CHANNEL_POSTS = Counter(
    "dailypapers_channel_posts_total",
    "Posts to team channels, by chat tool and outcome (sent, failed, skipped, retrying).",
    ["kind", "outcome"],
)
TASK_FAILURES = Counter(
    "dailypapers_task_failures_total", "Background tasks that raised, by task.", ["task"]
)


class QueueLength(Collector):
    """The number of tasks waiting in the broker, read from Redis at each scrape."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from django.conf import settings

        found = GaugeMetricFamily(
            "dailypapers_queue_length", "Tasks waiting in the broker, by queue.", labels=["queue"]
        )
        if settings.REDIS_URL:
            import redis

            try:
                client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
                for queue in settings.METRICS_QUEUES:
                    found.add_metric([queue], float(client.llen(queue)))
            except redis.RedisError:
                pass  # the broker is down: /healthz says so; the gauge is left out
        yield found


class _Here(Collector):
    """This process's own values (when they are not shared through files)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def render() -> bytes:
    """Every metric, in Prometheus's text format."""
    registry = CollectorRegistry(auto_describe=True)
    if _folder:
        multiprocess.MultiProcessCollector(registry, path=_folder)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Here())
    registry.register(QueueLength())
    return generate_latest(registry)


def status_class(code: int) -> str:
    return f"{code // 100}xx"

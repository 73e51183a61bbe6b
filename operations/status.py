"""What an operator checks first, read in a few queries: each source's last runs, where the
arXiv harvests stand, how old the newest paper is, the last digest periods and channel
posts, the queue and the cache.
Shown to staff at /admin/status, and what the alerts (operations/alerts.py) look at."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count
from prometheus_client.parser import text_string_to_metric_families

from broadcasts.models import Post
from config import metrics
from digests.models import Delivery, Frequency
from digests.periods import digest_period
from papers.models import Harvest, IngestRun, Paper

RUNS_SHOWN = 5
PERIODS_SHOWN = 6
POSTS_SHOWN = 10


@dataclass
class SourceStatus:
    source: str
    runs: list[IngestRun]
    failing: int  # failed runs in a row, the newest first

    @property
    def last(self) -> IngestRun:
        return self.runs[0]


@dataclass
class PeriodStatus:
    frequency: str
    period: str
    counts: dict[str, int]


@dataclass
class Status:
    sources: list[SourceStatus]
    newest_paper_at: datetime | None
    newest_listing: object
    digests: list[PeriodStatus]
    posts: list[Post]
    queues: dict[str, float]
    harvests: list[Harvest] = field(default_factory=list)
    cache: dict[str, float] = field(default_factory=dict)

    @property
    def cache_hit_ratio(self) -> float | None:
        total = sum(self.cache.values())
        return None if not total else (total - self.cache.get("miss", 0.0)) / total


def sources() -> list[SourceStatus]:
    """Each source's last runs, newest first, and how many of them failed in a row."""
    found = []
    names = IngestRun.objects.values_list("source", flat=True).distinct().order_by("source")
    for source in names:
        runs = list(IngestRun.objects.filter(source=source).order_by("-started_at", "-id")[:20])
        failing = 0
        for run in runs:
            if run.status != IngestRun.Status.FAILED:
                break
            failing += 1
        found.append(SourceStatus(source, runs[:RUNS_SHOWN], failing))
    return found


def digest_periods() -> list[PeriodStatus]:
    """The last digest periods, newest first, with how many deliveries are in each state.

    Each frequency's newest periods are found a step at a time along the delivery_period
    index (a frequency's keys sort as its days do), not by grouping every delivery ever
    made, which grows by a row per subscriber each day. The counts then read the shown
    periods' rows only, from the same index."""
    keys: list[tuple[str, str]] = []
    for frequency in Frequency.values:
        periods = (
            Delivery.objects.filter(frequency=frequency)
            .order_by("-period")
            .values_list("period", flat=True)
        )
        found = periods.first()
        for _ in range(PERIODS_SHOWN):
            if found is None:
                break
            keys.append((frequency, found))
            found = periods.filter(period__lt=found).first()
    keys.sort(key=lambda key: digest_period(*key).last, reverse=True)
    keys = keys[:PERIODS_SHOWN]
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    rows = (
        Delivery.objects.filter(period__in=[period for _f, period in keys])
        .values("frequency", "period", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        counts[(row["frequency"], row["period"])][row["status"]] += row["n"]
    return [PeriodStatus(f, p, dict(counts[(f, p)])) for f, p in keys]


def _metric_values() -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(dict)
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            found[sample.name][tuple(sorted(sample.labels.items()))] = sample.value
    return found


def current() -> Status:
    # Each a step along an index (the newest row is the last inserted), not a scan of every
    # paper: at all of arXiv an aggregate over created_at read 2.7 million rows.
    newest = Paper.objects.order_by("-id").values_list("created_at", flat=True).first()
    listing = Paper.objects.order_by("-listed_on").values_list("listed_on", flat=True).first()
    values = _metric_values()
    queues = {
        dict(labels)["queue"]: value
        for labels, value in values.get("dailypapers_queue_length", {}).items()
    }
    cache = {
        dict(labels)["layer"]: value
        for labels, value in values.get("dailypapers_cache_lookups_total", {}).items()
    }
    return Status(
        sources=sources(),
        newest_paper_at=newest,
        newest_listing=listing,
        digests=digest_periods(),
        posts=list(Post.objects.select_related("channel").order_by("-created_at")[:POSTS_SHOWN]),
        queues=queues,
        harvests=list(Harvest.objects.order_by("-started_at")[:RUNS_SHOWN]),
        cache=cache,
    )

"""Ingestion: fetch papers from a source, validate and merge them, upsert them in bulk.

One service per source, called by the `ingest` command and the scheduled tasks alike:
papers_ingest_hf, papers_ingest_arxiv_categories, papers_ingest_arxiv_ids,
papers_ingest_arxiv_rss, papers_ingest_file. Each leaves an IngestRun that says how it went.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from config import metrics
from papers import caching
from papers.caching import PaperRef
from papers.models import IngestRun, Paper
from papers.services import postgresql_loader
from papers.services.merging import WRITTEN_FIELDS, merge
from papers.services.validation import RecordRejected, validate_record
from papers.sources import arxiv, files, hf
from papers.sources.records import (
    PaperRecord,
    ParsedItem,
    RejectedRecord,
    SourceError,
    split_arxiv_id,
)

logger = logging.getLogger(__name__)

MAX_REJECTIONS_KEPT = 200
READ_CHUNK = 500
WRITE_BATCH = 1_000


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RejectedRecord] = field(default_factory=list)
    # Every written paper, with its old day too when it moved (what the caches must know).
    touched: list[PaperRef] = field(default_factory=list)


def _existing(ids: list[str]) -> dict[str, dict[str, Any]]:
    """The current values of the papers with these arXiv ids, by arXiv id."""
    if connection.vendor != "postgresql":
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), READ_CHUNK):
            chunk = ids[start : start + READ_CHUNK]
            rows = Paper.objects.filter(arxiv_id__in=chunk).values("arxiv_id", *WRITTEN_FIELDS)
            for row in rows:
                found[row.pop("arxiv_id")] = row
        return found
    return postgresql_loader.read_current(ids)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a big ingestion builds its objects.

    Parsing and merging create millions of small dicts and lists that live until the end;
    every collection walks all of them again (a third of the parse time at 10,000 papers,
    more at 100,000). None of them form cycles, so reference counting frees them anyway.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@transaction.atomic
def papers_upsert(*, items: Iterable[ParsedItem], today: date | None = None) -> UpsertResult:
    """Validate records and write the new and changed ones in bulk, in one transaction."""
    with _gc_paused():
        return _upsert(items, today)


# Two ingestions that write the same papers at once each lock rows the other needs (one
# inserts what the other updates, in another order): PostgreSQL detects the deadlock and
# rolls one back. One writer at a time, for this transaction, instead; the second reads
# what the first wrote once it may go on. Ingestions are hourly and take seconds.
_UPSERT_LOCK = 0x70617065727300  # any constant bigint: "papers"


def _upsert(items: Iterable[ParsedItem], today: date | None) -> UpsertResult:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_UPSERT_LOCK])
    now = timezone.now()
    today = today or now.date()
    result = UpsertResult()
    accepted: list[PaperRecord] = []
    for item in items:
        if isinstance(item, RejectedRecord):
            result.rejected.append(item)
            continue
        try:
            accepted.append(validate_record(item, now=now))
        except RecordRejected as exc:
            result.rejected.append(RejectedRecord(ref=item.arxiv_id[:80], reason=str(exc)))

    existing = _existing(sorted({r.arxiv_id for r in accepted}))
    state: dict[str, dict[str, Any]] = {}
    for record in accepted:
        base = state.get(record.arxiv_id) or existing.get(record.arxiv_id)
        state[record.arxiv_id] = merge(base, record, today=today)

    # Both in the order the records came in: new papers get their ids in that order.
    created: list[tuple[str, dict[str, Any]]] = []
    changed: list[tuple[str, dict[str, Any]]] = []
    for arxiv_id, values in state.items():
        before = existing.get(arxiv_id)
        if before is None:
            created.append((arxiv_id, values))
        elif values == before:
            result.unchanged += 1
        else:
            changed.append((arxiv_id, values))
            if before["listed_on"] != values["listed_on"]:
                result.touched.append(PaperRef(arxiv_id, before["listed_on"]))
    result.created, result.updated = len(created), len(changed)
    result.touched += [PaperRef(arxiv_id, values["listed_on"]) for arxiv_id, values in created]
    result.touched += [PaperRef(arxiv_id, values["listed_on"]) for arxiv_id, values in changed]
    if connection.vendor == "postgresql":
        postgresql_loader.write(created=created, changed=changed, now=now)
    elif created or changed:
        written = {arxiv_id for arxiv_id, _values in (*created, *changed)}
        Paper.objects.bulk_create(
            [
                Paper(arxiv_id=arxiv_id, created_at=now, updated_at=now, **values)
                for arxiv_id, values in state.items()
                if arxiv_id in written
            ],
            batch_size=WRITE_BATCH,
            update_conflicts=True,
            unique_fields=["arxiv_id"],
            update_fields=[*WRITTEN_FIELDS, "updated_at"],
        )
    return result


def papers_ingest(
    *, source: str, parameters: dict[str, Any], fetch: Callable[[], list[ParsedItem]]
) -> IngestRun:
    """Fetch records from a source and upsert them, leaving an IngestRun whatever happens.

    A source failure (network, unreadable input) marks the run failed and writes no paper;
    the caller reads `run.status` and `run.error`.
    """
    run = IngestRun.objects.create(source=source, parameters=parameters)
    try:
        with _gc_paused():  # parsing a big file builds as many objects as merging does
            items = fetch()
            result = papers_upsert(items=items)
            # Freed now, or the first collection after the pause walks every one of them.
            del items
    except SourceError as exc:
        _finish(run, status=IngestRun.Status.FAILED, error=str(exc))
        return run
    except Exception as exc:
        _finish(run, status=IngestRun.Status.FAILED, error=f"{exc.__class__.__name__}: {exc}")
        raise
    run.created, run.updated, run.unchanged = result.created, result.updated, result.unchanged
    run.rejected = len(result.rejected)
    run.rejections = [
        {"ref": r.ref, "reason": r.reason} for r in result.rejected[:MAX_REJECTIONS_KEPT]
    ]
    _finish(run, status=IngestRun.Status.SUCCEEDED)
    caching.changed(papers=result.touched, catalog=bool(run.created))
    if run.created or run.updated:
        _embed_later()
    logger.info("ingest %s %s: %s", source, parameters, run.summary)
    return run


def _embed_later() -> None:
    """Queue the embedding of what an ingestion wrote (in the worker; at once when tasks
    run eagerly, as in `make run`). A broker that cannot be reached is logged: the next
    ingestion queues it again."""
    from papers import tasks

    transaction.on_commit(tasks.embed_papers.delay, robust=True)


INTERRUPTED = (
    "interrupted: the process running it stopped before it ended; nothing of it was "
    "written (a run writes in one transaction), the next run ingests it all"
)


def ingest_runs_mark_interrupted(*, source: str, started_before: datetime) -> int:
    """Mark as failed the runs of `source` still said to be running that started before
    `started_before`, whose process is gone (a worker killed, a machine lost)."""
    return IngestRun.objects.filter(
        source=source, status=IngestRun.Status.RUNNING, started_at__lt=started_before
    ).update(status=IngestRun.Status.FAILED, error=INTERRUPTED, finished_at=timezone.now())


def _finish(run: IngestRun, *, status: str, error: str = "") -> None:
    run.status = status
    run.error = error
    run.finished_at = timezone.now()
    run.save()
    metrics.INGEST_RUNS.labels(source=run.source, status=status).inc()
    metrics.INGEST_SECONDS.labels(source=run.source).observe(
        (run.finished_at - run.started_at).total_seconds()
    )
    outcomes = {
        "created": run.created,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "rejected": run.rejected,
    }
    for outcome, count in outcomes.items():
        if count:
            metrics.INGEST_RECORDS.labels(source=run.source, outcome=outcome).inc(count)


def papers_ingest_hf(*, days: Sequence[date]) -> IngestRun:
    """Hugging Face daily papers of these days."""
    days = list(days)

    def fetch() -> list[ParsedItem]:
        items: list[ParsedItem] = []
        for day in days:
            items.extend(hf.fetch_daily_papers(day))
        return items

    return papers_ingest(
        source="hf", parameters={"days": [d.isoformat() for d in days]}, fetch=fetch
    )


def papers_ingest_arxiv_categories(*, categories: list[str], since: date, until: date) -> IngestRun:
    """arXiv API: papers submitted to any of `categories` between two dates (inclusive)."""
    return papers_ingest(
        source="arxiv",
        parameters={"categories": categories, "since": str(since), "until": str(until)},
        fetch=lambda: arxiv.fetch_by_category(categories, since, until),
    )


def papers_ingest_arxiv_ids(*, ids: list[str]) -> IngestRun:
    """arXiv API: papers by id (a version suffix is dropped)."""
    bare = [split_arxiv_id(i)[0] for i in ids]
    return papers_ingest(
        source="arxiv", parameters={"ids": bare}, fetch=lambda: arxiv.fetch_by_ids(bare)
    )


def papers_ingest_arxiv_rss(*, categories: list[str]) -> IngestRun:
    """arXiv RSS: the latest announcements (new and cross-listed) of `categories`."""
    return papers_ingest(
        source="arxiv-rss",
        parameters={"categories": categories},
        fetch=lambda: arxiv.fetch_rss(categories),
    )


def papers_ingest_file(*, path: Path) -> IngestRun:
    """A local HF JSON, arXiv Atom or RSS file."""
    return papers_ingest(
        source="file", parameters={"path": str(path)}, fetch=lambda: files.read_file(path)
    )

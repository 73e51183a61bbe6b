"""Ingestion: fetch papers from a source, validate and merge them, upsert them in bulk.

One service per source, called by the `ingest` command and the scheduled tasks alike:
papers_ingest_hf, papers_ingest_arxiv_categories, papers_ingest_arxiv_ids,
papers_ingest_arxiv_rss, papers_ingest_file, and papers_harvest_oai for all of arXiv. Each
leaves an IngestRun that says how it went.
"""

from __future__ import annotations

import gc
import logging
import os
import socket
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from config import metrics
from papers import caching
from papers.caching import PaperRef
from papers.models import Harvest, IngestRun, Paper
from papers.services import postgresql_loader
from papers.services.merging import WRITTEN_FIELDS, merge
from papers.services.validation import RecordRejected, validate_record
from papers.sources import arxiv, files, hf, oai
from papers.sources.http import new_client
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


# A harvest whose page has not moved for this long has lost its process: another may take
# it over. (A page is one request and one transaction: seconds, or minutes when arXiv
# asks to wait.)
HARVEST_STALE = timedelta(minutes=15)


class HarvestBusy(Exception):
    """Another process is harvesting this window right now."""


def _harvest_to_resume(
    *, metadata_prefix: str, set_spec: str, since: date | None, until: date | None
) -> Harvest | None:
    """The unfinished harvest of this window, if any; HarvestBusy if its process lives."""
    harvest = (
        Harvest.objects.filter(
            metadata_prefix=metadata_prefix, set_spec=set_spec, since=since, until=until
        )
        .exclude(status=Harvest.Status.SUCCEEDED)
        .first()
    )
    if harvest is None:
        return None
    if harvest.status == Harvest.Status.RUNNING:
        quiet = timezone.now() - harvest.updated_at
        alive = _process_alive(harvest.owner)
        if alive or (alive is None and quiet < HARVEST_STALE):
            raise HarvestBusy(
                f"this window is being harvested (page {harvest.pages}, "
                f"{quiet.total_seconds():.0f} s ago); try again later"
            )
        if harvest.run_id:
            IngestRun.objects.filter(pk=harvest.run_id, status=IngestRun.Status.RUNNING).update(
                status=IngestRun.Status.FAILED, error=INTERRUPTED, finished_at=timezone.now()
            )
    return harvest


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _process_alive(owner: str) -> bool | None:
    """Whether the process `host:pid` runs; None when it is on another host (or unknown)."""
    host, _sep, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    if int(pid) == os.getpid():  # this process, restarted with the same pid (a container)
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


HarvestProgress = Callable[[Harvest, UpsertResult], None]


def papers_harvest_oai(
    *,
    since: date | None,
    until: date | None,
    metadata_prefix: str = "arXivRaw",
    set_spec: str = "",
    progress: HarvestProgress | None = None,
) -> IngestRun:
    """Harvest arXiv over OAI-PMH: every record whose datestamp is in [since, until].

    Resumes the unfinished harvest of the same window at the page it stopped on. Each page
    is written with the token of the next in one transaction; a run that fails leaves the
    harvest resumable. Raises HarvestBusy if another process harvests the window now.
    """
    harvest = _harvest_to_resume(
        metadata_prefix=metadata_prefix, set_spec=set_spec, since=since, until=until
    )
    parameters: dict[str, Any] = {
        "format": metadata_prefix,
        "set": set_spec,
        "from": str(since or ""),
        "until": str(until or ""),
    }
    if harvest is not None:
        parameters["resumed_at_page"] = harvest.pages + 1
    run = IngestRun.objects.create(source=oai.SOURCE, parameters=parameters)
    if harvest is None:
        harvest = Harvest.objects.create(
            metadata_prefix=metadata_prefix,
            set_spec=set_spec,
            since=since,
            until=until,
            run=run,
            owner=_owner(),
        )
    else:
        harvest.status, harvest.error, harvest.run = Harvest.Status.RUNNING, "", run
        harvest.owner = _owner()
        harvest.save(update_fields=["status", "error", "run", "owner", "updated_at"])
    rejections: list[RejectedRecord] = []
    restarted = False
    try:
        with new_client() as client:
            while True:
                params = oai.list_records_params(
                    token=harvest.token or None,
                    metadata_prefix=metadata_prefix,
                    since=since,
                    until=until,
                    set_spec=set_spec,
                )
                try:
                    page = oai.fetch_page(params, client=client)
                except oai.OaiError as exc:
                    if exc.code != "badResumptionToken" or not harvest.token or restarted:
                        raise
                    # Tokens expire: begin the window again (what is written stays written,
                    # and reads as unchanged).
                    logger.warning("harvest %s: %s; beginning the window again", harvest, exc)
                    harvest.token, harvest.pages, restarted = "", 0, True
                    continue
                if page.token is not None and page.token == harvest.token:
                    raise SourceError(f"the source repeated its resumption token {page.token!r}")
                result = _harvest_page(harvest, run, page)
                rejections += result.rejected[: MAX_REJECTIONS_KEPT - len(rejections)]
                if progress is not None:
                    progress(harvest, result)
                if page.token is None:
                    break
    except SourceError as exc:
        _harvest_failed(harvest, run, str(exc))
        return run
    except BaseException as exc:
        _harvest_failed(harvest, run, f"{exc.__class__.__name__}: {exc}")
        raise
    run.rejections = [{"ref": r.ref, "reason": r.reason} for r in rejections]
    _finish(run, status=IngestRun.Status.SUCCEEDED)
    logger.info("harvest %s: %s", harvest, run.summary)
    return run


def _harvest_failed(harvest: Harvest, run: IngestRun, error: str) -> None:
    """The run failed; the harvest keeps its place, to be resumed."""
    harvest.status, harvest.error = Harvest.Status.FAILED, error
    harvest.save(update_fields=["status", "error", "updated_at"])
    _finish(run, status=IngestRun.Status.FAILED, error=error)


def _harvest_page(harvest: Harvest, run: IngestRun, page: oai.OaiPage) -> UpsertResult:
    """Write one page's papers and move the harvest and its run on, in one transaction."""
    with transaction.atomic():
        result = papers_upsert(items=page.items)
        harvest.token = page.token or ""
        harvest.pages += 1
        harvest.records += len(page.items) + len(page.deleted)
        harvest.deleted += len(page.deleted)
        if page.complete_size is not None:
            harvest.complete_size = page.complete_size
        if page.token is None:
            harvest.status, harvest.finished_at = Harvest.Status.SUCCEEDED, timezone.now()
        harvest.save()
        run.created += result.created
        run.updated += result.updated
        run.unchanged += result.unchanged
        run.rejected += len(result.rejected)
        run.save(update_fields=["created", "updated", "unchanged", "rejected"])
    caching.changed(papers=result.touched, catalog=bool(result.created))
    if result.created or result.updated:
        _embed_later()
    return result

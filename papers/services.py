"""Writes to papers: ingestion (validate, merge, bulk upsert) with its IngestRun,
upvotes, and submissions by members."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, JSONField
from django.utils import timezone
from psycopg.types.json import Jsonb

from papers.models import IngestRun, Paper, Upvote
from papers.selectors import bump_feed_version
from papers.sources.records import (
    PaperRecord,
    ParsedItem,
    RejectedRecord,
    SourceError,
    is_valid_arxiv_id,
    split_arxiv_id,
)

logger = logging.getLogger(__name__)

MAX_TITLE = 1_000
MAX_ABSTRACT = 20_000
MAX_AUTHORS = 3_000
MAX_AUTHOR_NAME = 300
MAX_KEYWORDS = 100
MAX_KEYWORD = 200
MAX_SUMMARY = 5_000
MAX_URL = 500
MAX_REJECTIONS_KEPT = 200
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
READ_CHUNK = 500
WRITE_BATCH = 1_000

# Fields that describe the paper itself: replaced only by a newer arXiv version.
METADATA_FIELDS = (
    "version",
    "title",
    "abstract",
    "authors",
    "published_at",
    "source_updated_at",
    "primary_category",
    "categories",
)
# Fields only Hugging Face knows: replaced whenever a record carries them.
COMMUNITY_FIELDS = (
    "source_upvotes",
    "comment_count",
    "github_repo",
    "github_stars",
    "project_page",
    "ai_summary",
    "ai_keywords",
    "thumbnail_url",
    "organization",
    "source_submitter",
)
WRITTEN_FIELDS = (*METADATA_FIELDS, *COMMUNITY_FIELDS, "listed_on")
_EMPTY: dict[str, Any] = {
    "abstract": "",
    "authors": [],
    "primary_category": "",
    "categories": [],
    "source_upvotes": 0,
    "comment_count": 0,
    "github_repo": "",
    "project_page": "",
    "ai_summary": "",
    "ai_keywords": [],
    "thumbnail_url": "",
}


class RecordRejected(ValueError):
    """A record that fails validation; the message is the reason."""


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RejectedRecord] = field(default_factory=list)


def _check_url(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(value) > MAX_URL:
        raise RecordRejected(f"{name} is not an http(s) URL of at most {MAX_URL} characters")
    return value


def _check_length(value: str, name: str, limit: int) -> None:
    if len(value) > limit:
        raise RecordRejected(f"{name} is {len(value):,} characters long (limit {limit:,})")


def _check_datetime(value: datetime | None, name: str, now: datetime) -> None:
    if value is None:
        return
    if value.tzinfo is None:
        raise RecordRejected(f"{name} has no time zone")
    if not EARLIEST <= value <= now + timedelta(days=2):
        raise RecordRejected(f"{name} {value.isoformat()} is out of range")


def validate_record(record: PaperRecord, *, now: datetime) -> PaperRecord:
    """Check a record's id, title, dates and lengths; raise RecordRejected with the reason."""
    if not is_valid_arxiv_id(record.arxiv_id):
        raise RecordRejected(f"{record.arxiv_id[:80]!r} is not an arXiv id")
    if not record.title:
        raise RecordRejected("no title")
    _check_length(record.title, "title", MAX_TITLE)
    _check_length(record.abstract, "abstract", MAX_ABSTRACT)
    if len(record.authors) > MAX_AUTHORS:
        raise RecordRejected(f"{len(record.authors):,} authors (limit {MAX_AUTHORS:,})")
    for author in record.authors:
        _check_length(author.name, "an author name", MAX_AUTHOR_NAME)
    if record.version is not None and not 1 <= record.version <= 1_000:
        raise RecordRejected(f"version {record.version} is out of range")
    _check_datetime(record.published_at, "published date", now)
    _check_datetime(record.source_updated_at, "updated date", now)
    if record.listed_on is not None and not (
        EARLIEST.date() <= record.listed_on <= (now + timedelta(days=2)).date()
    ):
        raise RecordRejected(f"listing date {record.listed_on} is out of range")
    for name in ("source_upvotes", "comment_count", "github_stars"):
        value = getattr(record, name)
        if value is not None and not 0 <= value < 2**31:
            raise RecordRejected(f"{name} {value} is out of range")
    if record.ai_summary is not None:
        _check_length(record.ai_summary, "AI summary", MAX_SUMMARY)
    if record.ai_keywords is not None:
        if len(record.ai_keywords) > MAX_KEYWORDS:
            raise RecordRejected(f"{len(record.ai_keywords)} keywords (limit {MAX_KEYWORDS})")
        for keyword in record.ai_keywords:
            _check_length(keyword, "a keyword", MAX_KEYWORD)
    for name in ("github_repo", "project_page", "thumbnail_url"):
        _check_url(getattr(record, name), name.replace("_", " "))
    return record


def _record_values(record: PaperRecord) -> dict[str, Any]:
    """The model values a record states; fields it does not state are left out."""
    values: dict[str, Any] = {
        "version": record.version,
        "title": record.title,
        "abstract": record.abstract or None,
        "authors": [a.as_json() for a in record.authors] or None,
        "published_at": record.published_at,
        "source_updated_at": record.source_updated_at,
        "primary_category": record.primary_category or None,
        "categories": record.categories or None,
        "source_upvotes": record.source_upvotes,
        "comment_count": record.comment_count,
        "github_repo": record.github_repo,
        "github_stars": record.github_stars,
        "project_page": record.project_page,
        "ai_summary": record.ai_summary,
        "ai_keywords": record.ai_keywords,
        "thumbnail_url": record.thumbnail_url,
        "organization": record.organization,
        "source_submitter": record.source_submitter,
    }
    return {k: v for k, v in values.items() if v is not None}


def _newer(current: dict[str, Any], record: PaperRecord) -> bool | None:
    """Whether the record's paper metadata replaces the current one.

    True: a newer arXiv version (or first real version info) replaces it. None: the same
    version, which may only fill gaps. False: an older version, or a source without
    versions over one with them, changes nothing.
    """
    have, got = current.get("version"), record.version
    if got is None:
        return None if have is None else False
    if have is None or got > have:
        return True
    return None if got == have else False


def merge(current: dict[str, Any] | None, record: PaperRecord, *, today: date) -> dict[str, Any]:
    """The paper's field values after applying `record` to `current` (None: a new paper)."""
    stated = _record_values(record)
    if current is None:
        merged = {name: _EMPTY.get(name) for name in WRITTEN_FIELDS}
        merged.update(stated)
        published = record.published_at
        merged["listed_on"] = record.listed_on or (published.date() if published else today)
        return merged
    merged = dict(current)
    newer = _newer(current, record)
    for name in METADATA_FIELDS:
        if name not in stated:
            continue
        if newer or (newer is None and merged.get(name) in (None, "", [])):
            merged[name] = stated[name]
    if newer is None and record.source == "hf" and record.version is None:
        # Same (unknown) version from Hugging Face: its own corrections apply.
        for name in ("title", "abstract", "authors", "published_at"):
            if name in stated:
                merged[name] = stated[name]
    for name in COMMUNITY_FIELDS:
        if name in stated:
            merged[name] = stated[name]
    if record.source == "hf" and record.listed_on is not None:
        # Hugging Face's daily list decides the featured day; other sources only set it once.
        merged["listed_on"] = record.listed_on
    return merged


def _existing(ids: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), READ_CHUNK):
        chunk = ids[start : start + READ_CHUNK]
        for row in Paper.objects.filter(arxiv_id__in=chunk).values("arxiv_id", *WRITTEN_FIELDS):
            found[row.pop("arxiv_id")] = row
    return found


@transaction.atomic
def papers_upsert(*, items: Iterable[ParsedItem], today: date | None = None) -> UpsertResult:
    """Validate records and write the new and changed ones in bulk, in one transaction."""
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

    to_write: list[Paper] = []
    for arxiv_id, values in state.items():
        before = existing.get(arxiv_id)
        if before is None:
            result.created += 1
        elif values == before:
            result.unchanged += 1
            continue
        else:
            result.updated += 1
        to_write.append(Paper(arxiv_id=arxiv_id, created_at=now, updated_at=now, **values))
    if to_write and connection.vendor == "postgresql":
        _copy_upsert(to_write)
    elif to_write:
        Paper.objects.bulk_create(
            to_write,
            batch_size=WRITE_BATCH,
            update_conflicts=True,
            unique_fields=["arxiv_id"],
            update_fields=[*WRITTEN_FIELDS, "updated_at"],
        )
    return result


def _copy_upsert(papers: list[Paper]) -> None:
    """PostgreSQL: COPY the rows into a temporary table, then one INSERT ... ON CONFLICT.

    The same statement as bulk_create(update_conflicts=True), several times faster on
    large batches because COPY skips building and quoting a huge INSERT.
    """
    names = ["arxiv_id", *WRITTEN_FIELDS, "upvote_count", "hidden", "created_at", "updated_at"]
    fields = [Paper._meta.get_field(name) for name in names]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    updates = ", ".join(
        f"{connection.ops.quote_name(f.column)} = EXCLUDED.{connection.ops.quote_name(f.column)}"
        for f in fields
        if f.name in (*WRITTEN_FIELDS, "updated_at")
    )
    table = Paper._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE papers_ingest_batch ON COMMIT DROP AS "  # noqa: S608
            f"SELECT {columns} FROM {table} WITH NO DATA"
        )
        with cursor.cursor.copy(f"COPY papers_ingest_batch ({columns}) FROM STDIN") as copy:
            for paper in papers:
                copy.write_row(
                    [
                        Jsonb(value) if isinstance(f, JSONField) and value is not None else value
                        for f in fields
                        for value in (getattr(paper, f.attname),)
                    ]
                )
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM papers_ingest_batch "  # noqa: S608
            f"ON CONFLICT (arxiv_id) DO UPDATE SET {updates}"
        )
        cursor.execute("DROP TABLE papers_ingest_batch")


def papers_ingest(
    *, source: str, parameters: dict[str, Any], fetch: Callable[[], list[ParsedItem]]
) -> IngestRun:
    """Fetch records from a source and upsert them, leaving an IngestRun whatever happens.

    A source failure (network, unreadable input) marks the run failed and writes no paper;
    the caller reads `run.status` and `run.error`.
    """
    run = IngestRun.objects.create(source=source, parameters=parameters)
    try:
        items = fetch()
        result = papers_upsert(items=items)
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
    if run.created or run.updated:
        transaction.on_commit(bump_feed_version)
    logger.info("ingest %s %s: %s", source, parameters, run.summary)
    return run


def _finish(run: IngestRun, *, status: str, error: str = "") -> None:
    run.status = status
    run.error = error
    run.finished_at = timezone.now()
    run.save()


@dataclass(frozen=True, slots=True)
class VoteState:
    upvoted: bool
    upvotes: int  # local + source votes, as shown


def _vote_state(paper: Paper, upvoted: bool) -> VoteState:
    counts = Paper.objects.filter(pk=paper.pk).values("upvote_count", "source_upvotes").get()
    paper.upvote_count = counts["upvote_count"]
    return VoteState(upvoted=upvoted, upvotes=counts["upvote_count"] + counts["source_upvotes"])


def paper_upvote(*, paper: Paper, user: Any) -> VoteState:
    """Add the member's vote (idempotent): the row and the counter move in one transaction;
    the unique constraint, not a Python check, decides duplicates."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                Upvote.objects.create(user=user, paper=paper)
        except IntegrityError:
            pass  # already upvoted: nothing changes
        else:
            Paper.objects.filter(pk=paper.pk).update(upvote_count=F("upvote_count") + 1)
            transaction.on_commit(bump_feed_version)
        return _vote_state(paper, True)


def paper_unvote(*, paper: Paper, user: Any) -> VoteState:
    """Remove the member's vote (idempotent)."""
    with transaction.atomic():
        deleted, _ = Upvote.objects.filter(user=user, paper=paper).delete()
        if deleted:
            Paper.objects.filter(pk=paper.pk).update(upvote_count=F("upvote_count") - deleted)
            transaction.on_commit(bump_feed_version)
        return _vote_state(paper, False)


def paper_toggle_upvote(*, paper: Paper, user: Any) -> VoteState:
    """Upvote, or take the vote back if there is one."""
    if Upvote.objects.filter(user=user, paper=paper).exists():
        return paper_unvote(paper=paper, user=user)
    return paper_upvote(paper=paper, user=user)


class SubmissionError(Exception):
    """A submission that cannot be accepted; the message says why."""


@dataclass(frozen=True, slots=True)
class Submission:
    paper: Paper
    created: bool  # False: the paper was already here


def submissions_left_today(*, user: Any, today: date) -> int:
    """How many more papers the member may submit today."""
    used = Paper.objects.filter(submitted_by=user, created_at__date=today).count()
    return max(0, settings.SUBMISSIONS_PER_DAY - used)


def paper_submit(
    *, user: Any, arxiv_id: str, fetch: Callable[[list[str]], list[ParsedItem]]
) -> Submission:
    """Add a paper by arXiv id, listed today with its submitter; an existing one is returned.

    `fetch` reads the metadata (arXiv's API in production). Raises SubmissionError.
    """
    arxiv_id, _version = split_arxiv_id(arxiv_id)
    if not is_valid_arxiv_id(arxiv_id):
        raise SubmissionError(f"{arxiv_id[:80]!r} is not an arXiv id (like 2401.12345)")
    existing = Paper.objects.filter(arxiv_id=arxiv_id).first()
    if existing is not None:
        return Submission(paper=existing, created=False)
    today = timezone.now().date()
    if submissions_left_today(user=user, today=today) <= 0:
        raise SubmissionError(
            f"You can submit {settings.SUBMISSIONS_PER_DAY} papers a day; try again tomorrow."
        )
    try:
        items = fetch([arxiv_id])
    except SourceError as exc:
        raise SubmissionError(f"arXiv could not be reached: {exc}") from exc
    records = [i for i in items if isinstance(i, PaperRecord) and i.arxiv_id == arxiv_id]
    if not records:
        raise SubmissionError(f"arXiv has no paper {arxiv_id}.")
    record = records[-1]
    record.listed_on = today
    result = papers_upsert(items=[record], today=today)
    if result.rejected:
        raise SubmissionError(
            f"arXiv's record for {arxiv_id} is unusable: {result.rejected[0].reason}"
        )
    paper = Paper.objects.get(arxiv_id=arxiv_id)
    created = Paper.objects.filter(pk=paper.pk, submitted_by=None).update(
        submitted_by=user, listed_on=today
    )
    paper.refresh_from_db()
    transaction.on_commit(bump_feed_version)
    return Submission(paper=paper, created=bool(created))

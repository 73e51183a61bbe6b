"""Writes to papers: ingestion (validate, merge, bulk upsert) with its IngestRun,
upvotes, and submissions by members."""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import logging
import queue
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

import psycopg
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Field
from django.utils import timezone
from psycopg.adapt import Dumper
from psycopg.pq import Format

from caching.store import CACHE_DOWN
from config import ratelimit
from config.db import column, fetch_row
from papers import caching
from papers.caching import PaperRef
from papers.models import IngestRun, Paper, Upvote
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
_URL_SPECIAL = re.compile(r"[\[\]\t\r\n]")
READ_CHUNK = 500
WRITE_BATCH = 1_000
EXISTING_CHUNK = 5_000  # arXiv ids per query for the current values (PostgreSQL)
WRITE_CHUNK = 1_000  # papers per COPY and INSERT in a big write (PostgreSQL)

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
    # Every written paper, with its old day too when it moved (what the caches must know).
    touched: list[PaperRef] = field(default_factory=list)


def _check_url(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    if _plain_url(value):
        return value
    try:
        parts = urlsplit(value)
    except ValueError:  # "Invalid IPv6 URL": one bad record, not a failed ingestion
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.netloc
        or len(value) > MAX_URL
    ):
        raise RecordRejected(f"{name} is not an http(s) URL of at most {MAX_URL} characters")
    return value


def _plain_url(value: str) -> bool:
    """A short ASCII http(s) URL with a host and nothing urlsplit() treats specially
    (brackets, tabs, newlines): accepted without splitting it, as urlsplit would."""
    if len(value) > MAX_URL or not value.isascii() or _URL_SPECIAL.search(value):
        return False
    if value.startswith("https://"):
        host = value[8:9]
    elif value.startswith("http://"):
        host = value[7:8]
    else:
        return False
    return bool(host) and host not in "/?#"


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
    """The current values of the papers with these arXiv ids, by arXiv id."""
    if connection.vendor != "postgresql":
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), READ_CHUNK):
            chunk = ids[start : start + READ_CHUNK]
            rows = Paper.objects.filter(arxiv_id__in=chunk).values("arxiv_id", *WRITTEN_FIELDS)
            for row in rows:
                found[row.pop("arxiv_id")] = row
        return found
    return _existing_postgresql(ids)


def _existing_postgresql(ids: list[str]) -> dict[str, dict[str, Any]]:
    """PostgreSQL: the same values as the ORM's .values(), read raw and many times faster.

    The JSON columns come back as one JSON array per row, decoded with one json.loads
    instead of one per column; the other columns arrive as the ORM would return them
    (aware UTC datetimes, dates, ints, strings).
    """
    plain = [name for name in WRITTEN_FIELDS if name not in _JSON_FIELDS]
    json_names = [name for name in WRITTEN_FIELDS if name in _JSON_FIELDS]
    quote = connection.ops.quote_name

    def columns(names: list[str]) -> str:
        return ", ".join(quote(column(Paper, name)) for name in names)

    sql = (
        f"SELECT arxiv_id, {columns(plain)}, "  # noqa: S608 (names from the model)
        f"jsonb_build_array({columns(json_names)})::text "
        f"FROM {quote(Paper._meta.db_table)} WHERE arxiv_id = ANY(%s)"
    )
    loads = json.loads
    found: dict[str, dict[str, Any]] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(ids), EXISTING_CHUNK):
            cursor.execute(sql, [ids[start : start + EXISTING_CHUNK]])
            for arxiv_id, *values, json_values in cursor.fetchall():
                row = dict(zip(plain, values, strict=True))
                row.update(zip(json_names, loads(json_values), strict=True))
                found[arxiv_id] = {name: row[name] for name in WRITTEN_FIELDS}
    return found


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
        _write_postgresql(created=created, changed=changed, now=now)
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


# The columns a bulk write fills, in COPY order, after the id of a new paper; the search
# vector comes last.
_COPY_FIELDS = ("arxiv_id", *WRITTEN_FIELDS, "upvote_count", "hidden", "created_at", "updated_at")
# The JSONFields among them (tests/papers/test_ingest_bulk.py checks this against the model).
_JSON_FIELDS = frozenset(
    {"authors", "categories", "ai_keywords", "organization", "source_submitter"}
)
# Where the inputs of the search vector sit in the row of a new paper (id first).
_VECTOR_INPUTS = tuple(
    1 + _COPY_FIELDS.index(name) for name in ("title", "abstract", "authors", "ai_keywords")
)
# Binary COPY: the PostgreSQL type each kind of column is sent as.
_COPY_TYPES: dict[str, str | int] = {
    "bigint": "int8",
    "integer": "int4",
    "text": "text",
    "boolean": "bool",
    "date": "date",
    "timestamp with time zone": "timestamptz",
    "jsonb": 3802,  # _JsonTextDumper.oid
}


def _copy_row(arxiv_id: str, values: dict[str, Any], now: datetime) -> tuple[Any, ...]:
    """A paper as a COPY row (_COPY_FIELDS): JSON columns as JSON text.

    The same values, and the same json.dumps text, that psycopg's Jsonb wrapper sent for
    the model instances this replaces, without building a model instance per paper.
    """
    dumps = json.dumps
    return (
        arxiv_id,
        *[
            dumps(value) if name in _JSON_FIELDS and value is not None else value
            for name in WRITTEN_FIELDS
            for value in (values[name],)
        ],
        0,
        False,
        now,
        now,
    )


class _JsonTextDumper(Dumper):
    """Binary jsonb from JSON text (as _copy_row made it): a version byte, then the text."""

    format = Format.BINARY
    oid = 3802  # jsonb

    def dump(self, obj: str) -> bytes:
        return b"\x01" + obj.encode()


class _TsvectorDumper(Dumper):
    """A search vector exactly as PostgreSQL sent it in binary (see _vector_helper)."""

    format = Format.BINARY
    oid = 3614  # tsvector

    def dump(self, obj: bytes) -> bytes:
        return obj


def _write_postgresql(
    *,
    created: list[tuple[str, dict[str, Any]]],
    changed: list[tuple[str, dict[str, Any]]],
    now: datetime,
) -> None:
    """PostgreSQL: write new and changed papers with binary COPY, in chunks.

    Changed papers go through a temporary table and INSERT ... ON CONFLICT DO UPDATE, the
    statement bulk_create(update_conflicts=True) would run. New papers get their ids from
    the table's sequence first (in the order they came, as one INSERT would give them), then
    are copied straight into the table; a chunk that meets a paper someone else inserted
    meanwhile goes the ON CONFLICT way instead.

    Most of the time of a big first ingestion is the search vector that the trigger
    (migrations 0002 and 0003) computes for every new paper, to_tsvector over the
    abstract, on the one core of this connection's backend. So when there are several
    chunks of new papers, a second connection computes the vectors of some of them with the
    very function the trigger calls, papers_search_vector(), while this connection inserts
    the others: two backends, two cores (see _insert_with_helper). This transaction tells
    the trigger (papers.search_vector_given) to keep the vector such a new row brings;
    every other write (admin edits, updates, other inserts) has it computed as before.
    """
    if not created and not changed:
        return
    with connection.cursor() as cursor:
        writer = _CopyWriter(cursor)
        for start in range(0, len(changed), WRITE_CHUNK):
            chunk = changed[start : start + WRITE_CHUNK]
            writer.upsert([_copy_row(arxiv_id, values, now) for arxiv_id, values in chunk])
        if created:
            ids = writer.new_ids(len(created))
            chunks = (
                [
                    (pk, *_copy_row(arxiv_id, values, now))
                    for pk, (arxiv_id, values) in zip(
                        ids[start : start + WRITE_CHUNK],
                        created[start : start + WRITE_CHUNK],
                        strict=True,
                    )
                ]
                for start in range(0, len(created), WRITE_CHUNK)
            )
            if len(created) <= WRITE_CHUNK:
                for chunk in chunks:
                    writer.insert(chunk, None)
            else:
                cursor.execute("SELECT current_setting('default_toast_compression')")
                (compression,) = cursor.fetchone()
                cursor.execute(_BIG_WRITE_SETTINGS)
                _insert_with_helper(chunks, writer.insert)
                # Not on failure: the transaction is broken then, and its rollback undoes
                # these settings anyway.
                cursor.execute(_BIG_WRITE_RESET, [compression])
        writer.close()


# For the big write, until its end: the trigger keeps the vectors the helper computed, and
# abstracts and vectors too long to store inline are compressed with lz4 where the server
# has it (several times cheaper to compress and to read back than the default pglz; the
# stored values are the same, every reader decompresses either transparently).
_BIG_WRITE_SETTINGS = """
SELECT set_config('papers.search_vector_given', 'on', true),
       set_config('default_toast_compression',
                  CASE WHEN 'lz4' = ANY(enumvals) THEN 'lz4' ELSE setting END, true)
FROM pg_settings WHERE name = 'default_toast_compression'
"""
_BIG_WRITE_RESET = """
SELECT set_config('papers.search_vector_given', 'off', true),
       set_config('default_toast_compression', %s, true)
"""


class _CopyWriter:
    """Binary COPY of paper rows on this connection, straight in or through a temp table."""

    TEMP = "papers_ingest_batch"

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor
        self.raw = cursor.cursor
        self.raw.adapters.register_dumper(None, _JsonTextDumper)
        self.raw.adapters.register_dumper(None, _TsvectorDumper)
        quote = connection.ops.quote_name
        self.table = quote(Paper._meta.db_table)
        pk = cast(Field, Paper._meta.pk)
        fields = [cast(Field, Paper._meta.get_field(name)) for name in _COPY_FIELDS]
        names = {f.name: quote(column(Paper, f.name)) for f in fields}
        self.columns = ", ".join(names[f.name] for f in fields) + ", search_vector"
        self.new_columns = f"{quote(column(Paper, pk.name))}, {self.columns}"
        self.types = [self._type(f) for f in fields] + [_TsvectorDumper.oid]
        self.new_types = [self._type(pk), *self.types]
        self.updates = ", ".join(
            f"{names[f.name]} = EXCLUDED.{names[f.name]}"
            for f in fields
            if f.name in (*WRITTEN_FIELDS, "updated_at")
        )
        self.has_temp = False

    @staticmethod
    def _type(field: Any) -> str | int:
        db_type = field.db_type(connection)
        return "text" if db_type.startswith("varchar(") else _COPY_TYPES[db_type]

    def new_ids(self, count: int) -> list[int]:
        """`count` ids from the table's sequence, ascending."""
        self.cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [Paper._meta.db_table, Paper._meta.pk.column, count],
        )
        return sorted(pk for (pk,) in self.cursor.fetchall())

    def _copy(
        self, table: str, columns: str, types: list[Any], rows: list[tuple[Any, ...]], vectors: Any
    ) -> None:
        with self.raw.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(types)
            if vectors is None:
                for row in rows:
                    copy.write_row((*row, None))
            else:
                for row, vector in zip(rows, vectors, strict=True):
                    copy.write_row((*row, vector))

    def insert(self, rows: list[tuple[Any, ...]], vectors: list[bytes] | None) -> None:
        """New papers, id first: copied into the table itself."""
        savepoint = transaction.savepoint()
        try:
            self._copy(self.table, self.new_columns, self.new_types, rows, vectors)
        except psycopg.errors.UniqueViolation:
            # Someone else inserted one of these papers since we read: the slow way.
            transaction.savepoint_rollback(savepoint)
            self.upsert(rows, vectors, with_id=True)
        else:
            transaction.savepoint_commit(savepoint)

    def upsert(
        self,
        rows: list[tuple[Any, ...]],
        vectors: list[bytes] | None = None,
        *,
        with_id: bool = False,
    ) -> None:
        """Papers that may exist: a temporary table, then INSERT ... ON CONFLICT DO UPDATE."""
        columns = self.new_columns if with_id else self.columns
        if not self.has_temp:
            self.cursor.execute(
                f"CREATE TEMPORARY TABLE {self.TEMP} ON COMMIT DROP AS "  # noqa: S608
                f"SELECT {self.new_columns} FROM {self.table} WITH NO DATA"
            )
            self.has_temp = True
        self._copy(self.TEMP, columns, self.new_types if with_id else self.types, rows, vectors)
        self.cursor.execute(
            f"INSERT INTO {self.table} ({columns}) SELECT {columns} FROM {self.TEMP} "  # noqa: S608
            f"ON CONFLICT (arxiv_id) DO UPDATE SET {self.updates}"
        )
        self.cursor.execute(f"TRUNCATE {self.TEMP}")

    def close(self) -> None:
        if self.has_temp:  # ON COMMIT DROP; now, for the next upsert in this transaction
            self.cursor.execute(f"DROP TABLE {self.TEMP}")


_HELPER_DONE = object()
_VECTOR_SQL = (
    "SELECT papers_search_vector(t, a, au::jsonb, k::jsonb) "
    "FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[]) "
    "WITH ORDINALITY AS u(t, a, au, k, n) ORDER BY n"
)


def _insert_with_helper(
    chunks: Iterable[list[tuple[Any, ...]]],
    insert: Callable[[list[tuple[Any, ...]], list[bytes] | None], None],
) -> None:
    """Insert every chunk through `insert`, some with vectors a helper connection computed.

    The helper starts first and takes chunks from the front as they are built; then this
    thread takes chunks from the back and lets the trigger compute their vectors, and
    inserts the helper's chunks as they come back. Whoever is faster does more. A helper
    that cannot connect or fails only does less: every chunk is inserted exactly once, by
    this thread, in this transaction.
    """
    todo: deque[list[tuple[Any, ...]]] = deque()
    done: queue.SimpleQueue[Any] = queue.SimpleQueue()
    built, stop = threading.Event(), threading.Event()
    helper = threading.Thread(
        target=_vector_helper,
        args=(connection.get_connection_params(), todo, done, built, stop),
        name="papers-search-vectors",
        daemon=True,
    )
    helper.start()
    try:
        total = 0
        for chunk in chunks:
            todo.append(chunk)
            total += 1
        built.set()
        inserted, helper_running = 0, True
        while inserted < total:
            try:
                message = done.get_nowait()
            except queue.Empty:
                try:
                    chunk = todo.pop()
                except IndexError:
                    if not helper_running:
                        raise RuntimeError("a chunk of papers went missing") from None
                    message = done.get()
                else:
                    insert(chunk, None)
                    inserted += 1
                    continue
            if message is _HELPER_DONE:
                helper_running = False
                continue
            chunk, vectors = message
            insert(chunk, vectors)
            inserted += 1
    finally:
        stop.set()
        built.set()
        helper.join()


def _vector_helper(
    params: dict[str, Any],
    todo: deque[list[tuple[Any, ...]]],
    done: queue.SimpleQueue[Any],
    built: threading.Event,
    stop: threading.Event,
) -> None:
    """Compute the search vectors of chunks from the front of `todo` on its own connection.

    Every chunk it takes goes back through `done`: with its vectors (binary tsvectors), or
    with None if that failed (the trigger then computes them). `_HELPER_DONE` comes last.
    """
    title, abstract, authors, keywords = _VECTOR_INPUTS
    # Server-side binding for binary parameters and results (Django binds on the client).
    params = {**params, "cursor_factory": psycopg.Cursor}
    try:
        with psycopg.connect(**params, autocommit=True) as conn, conn.cursor() as cursor:
            while not stop.is_set():
                try:
                    chunk = todo.popleft()
                except IndexError:
                    if built.is_set():
                        break
                    built.wait(0.002)
                    continue
                try:
                    cursor.execute(
                        _VECTOR_SQL,
                        [
                            [row[title] for row in chunk],
                            [row[abstract] for row in chunk],
                            [row[authors] for row in chunk],
                            [row[keywords] for row in chunk],
                        ],
                        binary=True,
                    )
                    vectors = [vector for (vector,) in cursor.fetchall()]
                except Exception:
                    done.put((chunk, None))
                    raise
                done.put((chunk, vectors))
    except Exception:
        logger.warning("search vectors: the helper connection failed", exc_info=True)
    finally:
        done.put(_HELPER_DONE)


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


# PostgreSQL: a vote is one statement in autocommit. It finds the paper, inserts or deletes
# the vote row and moves the counter only when a row changed, so the counter and the rows
# commit together without a transaction block, a savepoint or a separate read. The unique
# (user, paper) index decides duplicates: a second upvote inserts nothing and counts
# nothing, also when it races the first (ON CONFLICT waits for the other insert). The
# counter's row lock is held for this one statement and its commit only.
# The answer's columns: the counter after this vote changed it (NULL when nothing
# changed), the counter as the statement found it, and the source votes.
_VOTE_SQL = """
WITH paper AS (
    SELECT id, upvote_count, source_upvotes, arxiv_id, listed_on
    FROM {paper} WHERE {key} = %(key)s{visible}
), changed AS (
    {change}
    RETURNING paper_id
), counted AS (
    UPDATE {paper} SET upvote_count = upvote_count {sign} (SELECT count(*) FROM changed)
    WHERE id = (SELECT paper_id FROM changed LIMIT 1)
    RETURNING upvote_count
)
SELECT (SELECT upvote_count FROM counted), upvote_count, source_upvotes, arxiv_id, listed_on, id
FROM paper
"""
_ADD_VOTE = """INSERT INTO {upvote} (user_id, paper_id, created_at)
    SELECT %(user)s, id, %(now)s FROM paper
    ON CONFLICT (user_id, paper_id) DO NOTHING"""
_REMOVE_VOTE = """DELETE FROM {upvote}
    WHERE user_id = %(user)s AND paper_id = (SELECT id FROM paper)"""


@functools.cache
def _vote_sql(*, add: bool, by_arxiv_id: bool) -> str:
    """The statement that adds (or removes) a vote on the paper with this id (or arXiv id:
    visible papers only, as the API shows them)."""
    return _VOTE_SQL.format(
        paper=Paper._meta.db_table,
        key="arxiv_id" if by_arxiv_id else "id",
        visible=" AND NOT hidden" if by_arxiv_id else "",
        change=(_ADD_VOTE if add else _REMOVE_VOTE).format(upvote=Upvote._meta.db_table),
        sign="+" if add else "-",
    )


def _vote_postgresql(
    *, key: int | str, by_arxiv_id: bool, user: Any, add: bool
) -> tuple[int, int] | None:
    """Run the vote statement: the paper's (upvote_count, source_upvotes) after it, None
    when there is no such paper. When a vote row changed, the feed version moves once the
    vote is committed (at once in autocommit)."""
    params = {"key": key, "user": user.pk}
    if add:
        params["now"] = timezone.now()
    row = fetch_row(_vote_sql(add=add, by_arxiv_id=by_arxiv_id), params)
    if row is None:
        return None
    after, before, source, arxiv_id, listed_on, pk = row
    if after is None:
        return before, source  # nothing changed
    caching.changed(
        papers=[PaperRef(arxiv_id, listed_on)], member_id=user.pk, votes={pk: after + source}
    )
    return after, source


def _vote_orm(*, paper: Paper, user: Any, add: bool) -> VoteState:
    """Other databases (SQLite): the row and the counter in one transaction; the unique
    constraint, not a Python check, decides duplicates."""
    with transaction.atomic():
        if add:
            try:
                with transaction.atomic():
                    Upvote.objects.create(user=user, paper=paper)
                changed = 1
            except IntegrityError:
                changed = 0  # already upvoted: nothing changes
        else:
            changed, _ = Upvote.objects.filter(user=user, paper=paper).delete()
        if changed:
            delta = changed if add else -changed
            Paper.objects.filter(pk=paper.pk).update(upvote_count=F("upvote_count") + delta)
        counts = Paper.objects.filter(pk=paper.pk).values("upvote_count", "source_upvotes").get()
        if changed:
            shown = counts["upvote_count"] + counts["source_upvotes"]
            caching.changed(papers=[paper], member_id=user.pk, votes={paper.pk: shown})
    paper.upvote_count = counts["upvote_count"]
    return VoteState(upvoted=add, upvotes=counts["upvote_count"] + counts["source_upvotes"])


def _vote(*, paper: Paper, user: Any, add: bool) -> VoteState:
    if connection.vendor != "postgresql":
        return _vote_orm(paper=paper, user=user, add=add)
    found = _vote_postgresql(key=paper.pk, by_arxiv_id=False, user=user, add=add)
    if found is None:
        raise Paper.DoesNotExist(f"paper {paper.pk} is gone")
    paper.upvote_count, source = found
    return VoteState(upvoted=add, upvotes=paper.upvote_count + source)


def paper_upvote(*, paper: Paper, user: Any) -> VoteState:
    """Add the member's vote (idempotent): the row and the counter move together."""
    return _vote(paper=paper, user=user, add=True)


def paper_unvote(*, paper: Paper, user: Any) -> VoteState:
    """Remove the member's vote (idempotent)."""
    return _vote(paper=paper, user=user, add=False)


def paper_vote_by_arxiv_id(*, arxiv_id: str, user: Any, upvote: bool) -> VoteState | None:
    """Upvote (or take back the vote on) the visible paper with this arXiv id, as the API
    does: one statement on PostgreSQL, with no separate read of the paper. None when there
    is no such visible paper."""
    if connection.vendor != "postgresql":
        rows = Paper.objects.visible().filter(arxiv_id=arxiv_id).only("id")[:1]
        paper = next(iter(rows), None)  # a unique key: no ORDER BY (see paper_by_id)
        return None if paper is None else _vote_orm(paper=paper, user=user, add=upvote)
    found = _vote_postgresql(key=arxiv_id, by_arxiv_id=True, user=user, add=upvote)
    if found is None:
        return None
    upvote_count, source = found
    return VoteState(upvoted=upvote, upvotes=upvote_count + source)


def paper_toggle_upvote(*, paper: Paper, user: Any) -> VoteState:
    """Upvote, or take the vote back if there is one."""
    if Upvote.objects.filter(user=user, paper=paper).exists():
        return paper_unvote(paper=paper, user=user)
    return paper_upvote(paper=paper, user=user)


class SubmissionError(Exception):
    """A submission that cannot be accepted; the message says why."""


class SubmissionRefused(SubmissionError):
    """Too many attempts, or one still in flight: try again after `wait` seconds."""

    def __init__(self, message: str, *, wait: float) -> None:
        super().__init__(message)
        self.wait = wait


# How long a member's submission may spend asking arXiv (its retries included): while it
# does, the member's next submission waits.
SUBMISSION_FETCH_SECONDS = 120


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
    # Every attempt counts, a paper arXiv does not have included: each one may cost a call.
    allowed, wait = ratelimit.take(
        f"submit-attempts:{user.pk}", settings.SUBMISSION_ATTEMPTS_PER_HOUR, 3600
    )
    if not allowed:
        raise SubmissionRefused("Too many submission attempts; try again later.", wait=wait)
    existing = Paper.objects.filter(arxiv_id=arxiv_id).first()
    if existing is not None:
        return Submission(paper=existing, created=False)
    today = timezone.now().date()
    _check_quota(user=user, today=today)
    # One submission at a time per member: the call to arXiv can take a while.
    in_flight = f"submit-in-flight:{user.pk}"
    if not _mark_in_flight(in_flight):
        raise SubmissionRefused(
            "Your previous submission is still being read from arXiv; try again in a moment.",
            wait=10,
        )
    try:
        try:
            items = fetch([arxiv_id])
        except SourceError as exc:
            raise SubmissionError(f"arXiv could not be reached: {exc}") from exc
        records = [i for i in items if isinstance(i, PaperRecord) and i.arxiv_id == arxiv_id]
        if not records:
            raise SubmissionError(f"arXiv has no paper {arxiv_id}.")
        return _add_submitted(user=user, record=records[-1], today=today)
    finally:
        with contextlib.suppress(*CACHE_DOWN):
            cache.delete(in_flight)


def _mark_in_flight(key: str) -> bool:
    """Mark a member's submission as being read from arXiv; False if one already is. With
    the cache down, the lock on their row still keeps their daily quota."""
    try:
        return bool(cache.add(key, 1, timeout=SUBMISSION_FETCH_SECONDS))
    except CACHE_DOWN:
        return True


def _check_quota(*, user: Any, today: date) -> None:
    if submissions_left_today(user=user, today=today) <= 0:
        raise SubmissionError(
            f"You can submit {settings.SUBMISSIONS_PER_DAY} papers a day; try again tomorrow."
        )


@transaction.atomic
def _add_submitted(*, user: Any, record: PaperRecord, today: date) -> Submission:
    """Write the paper with its submitter, the member's quota checked under a lock on their
    row: two submissions of one member at once cannot both pass it."""
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    _check_quota(user=user, today=today)
    record.listed_on = today
    result = papers_upsert(items=[record], today=today)
    if result.rejected:
        raise SubmissionError(
            f"arXiv's record for {record.arxiv_id} is unusable: {result.rejected[0].reason}"
        )
    paper = Paper.objects.get(arxiv_id=record.arxiv_id)
    created = Paper.objects.filter(pk=paper.pk, submitted_by=None).update(
        submitted_by=user, listed_on=today
    )
    paper.refresh_from_db()
    caching.changed(papers=[paper], catalog=True)
    return Submission(paper=paper, created=bool(created))

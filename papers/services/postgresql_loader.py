"""The PostgreSQL bulk loader behind papers_upsert: what the ORM would do, many times faster.

read_current() reads the current values of many papers with one raw query per 5,000;
write() writes new and changed papers with binary COPY (through a temporary table and
INSERT ... ON CONFLICT for changed ones), while a helper connection computes the search
vectors of new papers on a second core. tests/papers/test_postgresql_loader.py runs every
statement here on PostgreSQL and compares the result with the ORM's.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, cast

import psycopg
from django.db import connection, transaction
from django.db.models import Field
from psycopg.adapt import Dumper
from psycopg.pq import Format

from config.db import column
from papers.models import Paper
from papers.services.merging import WRITTEN_FIELDS

logger = logging.getLogger(__name__)

EXISTING_CHUNK = 5_000  # arXiv ids per query for the current values
WRITE_CHUNK = 1_000  # papers per COPY and INSERT in a big write


# The columns a bulk write fills, in COPY order, after the id of a new paper; the search
# vector comes last.
_COPY_FIELDS = (
    "arxiv_id",
    *WRITTEN_FIELDS,
    "upvote_count",
    "comment_count",
    "hidden",
    "created_at",
    "updated_at",
)
# The JSONFields among them (tests/papers/test_postgresql_loader.py checks them against
# the model).
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


def read_current(ids: list[str]) -> dict[str, dict[str, Any]]:
    """The current values of these papers, by arXiv id: the same values as the ORM's
    .values(), read raw and many times faster.

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


def write(
    *,
    created: list[tuple[str, dict[str, Any]]],
    changed: list[tuple[str, dict[str, Any]]],
    now: datetime,
) -> None:
    """Write new and changed papers with binary COPY, in chunks.

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
        pk = Paper._meta.pk
        fields = [cast("Field[Any, Any]", Paper._meta.get_field(name)) for name in _COPY_FIELDS]
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

"""Database helpers shared by the apps."""

from __future__ import annotations

import time
from typing import Any, cast

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field, Model

PREPARE_THRESHOLD = 5  # psycopg's default: runs of a statement before it is prepared


def fetch_row(sql: str, params: Any) -> tuple[Any, ...] | None:
    """Run a hand-written statement that runs on every request (the token lookup, a vote);
    its first row, None if it has none.

    On PostgreSQL the parameters are bound by the server, so psycopg prepares the statement
    after a few runs on a connection and PostgreSQL stops planning it each time; one cursor
    is kept per connection, as a new psycopg cursor spends more CPU on its first run than a
    short statement takes. Django still wraps it: its errors and execute wrappers apply.

    Not Django's `server_side_binding` option, which would prepare every statement of the
    site: it caps a statement at 65,535 parameters, and Django's deletion collector goes
    past that (deleting 100,000 papers failed with it in `make bench`).

    The same path runs whether queries are logged or not (DEBUG, assertNumQueries): Django
    logs a query's text from psycopg, which keeps none for a prepared run, so the entry is
    written here, in Django's shape, with the parameters in place.

    Django turns psycopg's preparing off on its connections unless OPTIONS sets
    `prepare_threshold`; as its own cursors bind client-side and never prepare, turning it
    back on changes only these statements. Prepared statements belong to a connection:
    behind a pooler that hands out connections per transaction (PgBouncer in transaction
    mode before 1.21), DATABASE_POOL_MODE=transaction keeps them off.
    """
    db = connections[DEFAULT_DB_ALIAS]  # the thread's connection, looked up once
    if db.vendor != "postgresql":
        with db.cursor() as plain:
            plain.execute(sql, params)
            found: tuple[Any, ...] | None = plain.fetchone()
            return found
    db.ensure_connection()
    db.validate_thread_sharing()
    raw: Any = db.connection
    cursor: Any = getattr(db, "_fetch_row_cursor", None)
    if cursor is None or cursor.closed or cursor.connection is not raw:
        if "prepare_threshold" not in db.settings_dict["OPTIONS"]:
            raw.prepare_threshold = PREPARE_THRESHOLD
        cursor = psycopg.Cursor(raw)
        db._fetch_row_cursor = cursor  # type: ignore[attr-defined]  # one per thread's connection
    wrapped = db.make_cursor(cursor)  # not closed: the cursor serves the next statement
    start = time.monotonic()
    wrapped.execute(sql, params)
    row: tuple[Any, ...] | None = wrapped.fetchone()
    if db.queries_logged:
        duration = time.monotonic() - start
        ops: Any = db.ops  # PostgreSQL's: compose_sql puts the parameters in place
        db.queries_log.append({"sql": ops.compose_sql(sql, params), "time": f"{duration:.3f}"})
    return row


def column(model: type[Model], name: str) -> str:
    """The column of a model's field, by the field's name."""
    return cast(str, cast("Field[Any, Any]", model._meta.get_field(name)).column)

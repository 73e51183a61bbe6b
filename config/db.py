"""Database helpers shared by the apps."""

from __future__ import annotations

from typing import Any, cast

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field, Model

PREPARE_THRESHOLD = 5  # psycopg's default: runs of a statement before it is prepared


def fetch_row(sql: str, params: Any) -> tuple[Any, ...] | None:
    """Run a hand-written statement that runs on every request (the token lookup, a vote);
    its first row, None if it has none.

    On PostgreSQL the parameters are bound by the server, so psycopg prepares the statement
    after a few runs on a connection and PostgreSQL stops planning it each time (Django's
    own cursors bind client-side and never prepare); and one cursor is kept per connection,
    as a new psycopg cursor spends more CPU on its first run than a short statement takes.
    Django still wraps it: its errors are the usual ones.

    Django turns psycopg's preparing off on its connections unless OPTIONS sets
    `prepare_threshold`; as its own cursors never prepare, turning it back on changes only
    these statements. Prepared statements belong to a connection: behind a pooler that
    hands out connections per transaction (PgBouncer in transaction mode before 1.21), set
    OPTIONS["prepare_threshold"] = None to keep them off.
    """
    db = connections[DEFAULT_DB_ALIAS]  # the thread's connection, looked up once
    if db.vendor != "postgresql" or db.queries_logged:
        # Django logs a query's text from psycopg, which keeps none for a prepared run: where
        # queries are logged (DEBUG, assertNumQueries) the statement runs as Django's do.
        with db.cursor() as logged:
            logged.execute(sql, params)
            return logged.fetchone()
    db.ensure_connection()
    db.validate_thread_sharing()
    raw: Any = db.connection
    cursor: Any = getattr(db, "_fetch_row_cursor", None)
    if cursor is None or cursor.closed or cursor.connection is not raw:
        if "prepare_threshold" not in db.settings_dict["OPTIONS"]:
            raw.prepare_threshold = PREPARE_THRESHOLD
        cursor = psycopg.Cursor(raw)
        db._fetch_row_cursor = cursor  # type: ignore[attr-defined]  # one per thread's connection
    wrapped = db.make_cursor(cursor)
    wrapped.execute(sql, params)  # not closed: the cursor serves the next statement
    return wrapped.fetchone()


def column(model: type[Model], name: str) -> str:
    """The column of a model's field, by the field's name."""
    return cast(str, cast(Field, model._meta.get_field(name)).column)

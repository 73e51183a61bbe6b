"""Database helpers shared by the apps."""

from __future__ import annotations

from typing import Any, cast

from django.db import connection
from django.db.models import Field, Model


def fetch_row(sql: str, params: Any) -> tuple[Any, ...] | None:
    """Run a hand-written statement (the token lookup, a vote); its first row, None if it
    has none. On PostgreSQL the server binds its parameters and psycopg prepares it after
    PREPARE_THRESHOLD runs on a connection (DATABASES OPTIONS, config/settings.py), as
    every other statement of the site: the same path whether queries are logged or not."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row: tuple[Any, ...] | None = cursor.fetchone()
        return row


def column(model: type[Model], name: str) -> str:
    """The column of a model's field, by the field's name."""
    return cast(str, cast("Field[Any, Any]", model._meta.get_field(name)).column)

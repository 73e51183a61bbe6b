"""Reads of accounts: API tokens."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from django.db import DEFAULT_DB_ALIAS, connection, connections

from accounts.models import ApiToken, User
from caching.users import cached_token
from config.db import column, fetch_row


def api_token_digest(plaintext: str) -> str:
    """The stored form of a token: its SHA-256 digest in hex."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class _TokenQuery:
    sql: str
    user_model: Any
    token_fields: list[str]  # attnames, in the order of the columns
    user_fields: list[str]  # attnames of the member's columns, which follow
    converters: list[tuple[int, list[Callable[..., Any]], Any]]  # (column, converters, col)


@functools.cache
def _token_query(vendor: str) -> _TokenQuery:
    """The lookup of an active token with its active member, built once from the models.

    The ORM spent most of a lookup (about 0.85 ms of CPU against 0.12 ms now) building and
    compiling the same query on every authenticated API call; this is its SQL, written
    once, with the fields' database converters applied as the ORM applies them.
    """
    user_model: Any = ApiToken._meta.get_field("user").related_model
    quote = connection.ops.quote_name
    columns: list[str] = []
    converters: list[tuple[int, list[Callable[..., Any]], Any]] = []
    for alias, model in (("t", ApiToken), ("u", user_model)):
        for field in model._meta.concrete_fields:
            col = field.get_col(model._meta.db_table)
            found = connection.ops.get_db_converters(col) + field.get_db_converters(connection)
            if found:
                converters.append((len(columns), found, col))
            columns.append(f"{alias}.{quote(cast(str, field.column))}")
    token = ApiToken._meta
    sql = (
        f"SELECT {', '.join(columns)} FROM {quote(token.db_table)} t "  # noqa: S608
        f"INNER JOIN {quote(user_model._meta.db_table)} u "
        f"ON u.{quote(user_model._meta.pk.column)} = t.{quote(column(ApiToken, 'user'))} "
        f"WHERE t.{quote(column(ApiToken, 'key_hash'))} = %s "
        f"AND t.{quote(column(ApiToken, 'revoked_at'))} IS NULL "
        f"AND u.{quote(column(user_model, 'is_active'))}"
    )
    return _TokenQuery(
        sql=sql,
        user_model=user_model,
        token_fields=[f.attname for f in token.concrete_fields],
        user_fields=[f.attname for f in user_model._meta.concrete_fields],
        converters=converters,
    )


def api_token_by_plaintext(plaintext: str) -> ApiToken | None:
    """The active token with this plaintext, with its (active) member: one query, or none
    while this process keeps it (caching/users.py)."""
    digest = api_token_digest(plaintext)
    token: ApiToken | None = cached_token(digest, lambda: _api_token_by_digest(digest))
    return token


def _api_token_by_digest(digest: str) -> ApiToken | None:
    db = connections[DEFAULT_DB_ALIAS]
    query = _token_query(db.vendor)
    row = fetch_row(query.sql, [digest])  # a unique digest: one row
    if row is None:
        return None
    values = list(row)
    for position, converters, col in query.converters:
        for converter in converters:
            values[position] = converter(values[position], col, db)
    split = len(query.token_fields)
    token = ApiToken.from_db(db.alias, query.token_fields, values[:split])
    token.user = query.user_model.from_db(db.alias, query.user_fields, values[split:])
    return token


def api_tokens_for(user: User) -> list[ApiToken]:
    """A member's active tokens, newest first."""
    return list(ApiToken.objects.active().filter(user=user))

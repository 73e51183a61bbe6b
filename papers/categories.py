"""arXiv's categories: names for codes, shipped as data (papers/data/arxiv_taxonomy.json,
from arXiv's own taxonomy), and the lookup that filters papers by one of them.

A paper keeps its primary category first and its cross-lists after it (`Paper.categories`);
a category filter matches either. On PostgreSQL the filter is `categories @> '["cs.LG"]'`,
which a GIN index answers; on SQLite, a scan of the JSON array.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.sql.compiler import SQLCompiler

TAXONOMY_FILE = Path(__file__).parent / "data" / "arxiv_taxonomy.json"
# Codes as arXiv writes them (cs.LG, hep-th, cond-mat.supr-con, q-fin.EC); anything else is
# refused before it reaches a query.
CODE_RE = re.compile(r"[a-z][a-z-]{0,15}(?:\.[A-Za-z][A-Za-z-]{0,15})?")


@dataclass(frozen=True, slots=True)
class Category:
    code: str
    name: str
    archive: str
    group: str
    active: bool


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    categories: list[Category]


@functools.cache
def _taxonomy() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(TAXONOMY_FILE.read_text(encoding="utf-8"))
    return data


@functools.cache
def all_categories() -> dict[str, Category]:
    """Every category arXiv has had, by code (retired ones too: old papers carry them)."""
    data = _taxonomy()
    archives, groups = data["archives"], data["groups"]
    return {
        code: Category(
            code=code,
            name=entry["name"],
            archive=entry["archive"],
            group=groups[archives[entry["archive"]]["group"]],
            active=entry["active"],
        )
        for code, entry in data["categories"].items()
    }


def category(code: str) -> Category | None:
    return all_categories().get(code)


def category_name(code: str) -> str:
    """The name of a code ("Machine Learning"), or the code itself when unknown."""
    found = category(code)
    return found.name if found else code


def clean_category(value: str | None) -> str | None:
    """A known category code from a request, or None (empty: no filter, given as "")."""
    code = (value or "").strip()
    if not code:
        return ""
    if len(code) > 40 or not CODE_RE.fullmatch(code):
        return None
    return code if code in all_categories() else None


@functools.cache
def groups() -> list[Group]:
    """The current categories by group (Computer Science, Mathematics, ...), for an index."""
    by_group: dict[str, list[Category]] = {}
    for found in sorted(all_categories().values(), key=lambda c: c.code):
        if found.active:
            by_group.setdefault(found.group, []).append(found)
    return [Group(name, cats) for name, cats in by_group.items()]


@models.JSONField.register_lookup
class Includes(models.Lookup[Any]):
    """`categories__includes="cs.LG"`: a JSON array that holds this string."""

    lookup_name = "includes"
    prepare_rhs = False

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, tuple[Any, ...]]:
        # `lhs` is the column's SQL as Django compiles it; the value is always a parameter.
        lhs, params = compiler.compile(self.lhs)
        value = str(self.rhs)
        if connection.vendor == "postgresql":
            return f"{lhs} @> %s::jsonb", (*params, json.dumps([value]))
        sql = f"EXISTS (SELECT 1 FROM json_each({lhs}) WHERE json_each.value = %s)"  # noqa: S608
        return sql, (*params, value)

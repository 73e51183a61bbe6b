"""Search by words and by meaning: full text (PostgreSQL; a substring scan on SQLite), the
papers whose vectors are closest to the query's, or both fused (the default).

Hybrid: the first CANDIDATES full-text matches and the CANDIDATES nearest papers at least
SEARCH_MIN_SIMILARITY close are fused by reciprocal rank (papers/vectors.py); the
full-text matches past the candidates follow, in their order. docs/SEARCH.md measures the
three on a labelled set of reader queries: hybrid is the default because it ranks best.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Window

from papers import selectors, vectors
from papers.models import Paper
from papers.selectors import Ranking

MODES = ("hybrid", "fulltext", "vector")
CANDIDATES = 100


def _words(query: str, *, offset: int, limit: int) -> tuple[list[int], int]:
    """Full-text matches from `offset`, and how many there are (one query)."""
    results = selectors.search_papers(query)
    rows = list(
        results.annotate(total=Window(Count("id"))).values_list("pk", "total")[
            offset : offset + limit
        ]
    )
    total = rows[0][1] if rows else (results.count() if offset else 0)
    return [pk for pk, _total in rows], total


def _meaning(query: str) -> list[int]:
    """The visible papers nearest the query, nearest first."""
    near = vectors.semantic_ids(query, limit=CANDIDATES, min_score=settings.SEARCH_MIN_SIMILARITY)
    if not near:
        return []
    visible = set(Paper.objects.visible().filter(pk__in=near).values_list("pk", flat=True))
    return [pk for pk in near if pk in visible]


def ranking(
    query: str, *, page: int, size: int = selectors.SEARCH_PAGE_SIZE, mode: str | None = None
) -> Ranking:
    """One page of the query's results, and how many there are, by `mode` (default:
    SEARCH_MODE)."""
    mode = mode or settings.SEARCH_MODE
    if mode == "fulltext" or not query.strip():
        return selectors.search_ranking(query, page=page, size=size)
    start = (max(page, 1) - 1) * size
    if mode == "vector":
        near = _meaning(query)
        return Ranking(ids=near[start : start + size], total=len(near))
    words, matches = _words(query, offset=0, limit=CANDIDATES)
    fused = vectors.fuse(words, _meaning(query))
    beyond = max(0, matches - len(words))  # full-text matches past the candidates
    ids = fused[start : start + size]
    if len(ids) < size and beyond:
        offset = len(words) + max(0, start - len(fused))
        more, _total = _words(query, offset=offset, limit=size - len(ids))
        ids += more
    return Ranking(ids=ids, total=len(fused) + beyond)

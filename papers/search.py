"""Search by words and by meaning: full text (PostgreSQL; a substring scan on SQLite), the
papers whose vectors are closest to the query's, or both fused (the default).

Hybrid: the best CANDIDATES of the newest POOL full-text matches and the CANDIDATES
nearest papers at least SEARCH_MIN_SIMILARITY close are fused by reciprocal rank
(papers/vectors.py); the rest of the POOL follows, in its order. A query matching more
than POOL papers says so ("1,000+"); the full-text mode ranks every match.
docs/SEARCH.md measures the three on a labelled set of reader queries: hybrid is the
default because it ranks best.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings

from papers import selectors, vectors
from papers.models import Paper
from papers.selectors import Ranking

MODES = ("hybrid", "fulltext", "vector")
CANDIDATES = 100  # of each ranking, fused
POOL = 1_000  # the newest full-text matches the hybrid ranks (ranking every match of a
# common word takes about 0.3 s at 100,000 papers; these, 7-12 ms: docs/SEARCH.md)


def _words(query: str, category: str) -> tuple[list[int], bool]:
    """The newest POOL full-text matches, best first, and whether there are more (one
    query: the rank is computed for those rows only)."""
    matches = selectors.search_papers(query, category=category)
    newest = matches.order_by("-id").values_list("pk", "rank")  # type: ignore[misc]  # rank: annotated by search_papers
    rows = list(newest[: POOL + 1])
    more = len(rows) > POOL
    ranked = sorted(rows[:POOL], key=lambda row: -row[1])  # stable: newest first on ties
    return [pk for pk, _rank in ranked], more


def _meaning(query: str, category: str) -> Callable[[], list[int]]:
    """The visible papers nearest the query, nearest first: found by a helper thread while
    the caller goes on; call the result for them."""
    soon = vectors.semantic_ids_soon(
        query, limit=CANDIDATES, min_score=settings.SEARCH_MIN_SIMILARITY
    )

    def visible() -> list[int]:
        near = soon()
        if not near:
            return []
        papers = selectors.in_category(Paper.objects.visible(), category)
        shown = set(papers.filter(pk__in=near).values_list("pk", flat=True))
        return [pk for pk in near if pk in shown]

    return visible


def ranking(
    query: str,
    *,
    page: int,
    size: int = selectors.SEARCH_PAGE_SIZE,
    mode: str | None = None,
    category: str = "",
) -> Ranking:
    """One page of the query's results, and how many there are, by `mode` (default:
    SEARCH_MODE), in `category` if one is given (by meaning: the nearest papers that are
    in it)."""
    mode = mode or settings.SEARCH_MODE
    if mode == "fulltext" or not query.strip():
        return selectors.search_ranking(query, page=page, size=size, category=category)
    start = (max(page, 1) - 1) * size
    meaning = _meaning(query, category)
    if mode == "vector":
        near = meaning()
        return Ranking(ids=near[start : start + size], total=len(near))
    words, more = _words(query, category)  # while the helper thread finds the nearest vectors
    fused = vectors.fuse(words[:CANDIDATES], meaning())
    taken = set(fused)
    ordered = fused + [pk for pk in words[CANDIDATES:] if pk not in taken]
    return Ranking(ids=ordered[start : start + size], total=len(ordered), more=more)

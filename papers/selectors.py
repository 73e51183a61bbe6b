"""Reads of papers for pages, feeds and the API. Each returns everything a page needs
with a constant number of queries."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.core.cache import cache
from django.db import connection
from django.db.models import Case, F, FloatField, Q, Value, When
from django.db.models.functions import Cast, Power

from papers.models import Paper, PaperQuerySet, Upvote
from papers.periods import Period, period_of
from papers.sources.records import is_valid_arxiv_id, split_arxiv_id

ORDERS = ("votes", "newest")
TRENDING_DAYS = 7
TRENDING_GRAVITY = 1.8
_FEED_VERSION_KEY = "papers:feed-version"


def feed_version() -> int:
    """A number that changes whenever anything a feed shows changes (see bump_feed_version)."""
    version = cache.get(_FEED_VERSION_KEY)
    if version is None:
        version = 1
        cache.add(_FEED_VERSION_KEY, version, timeout=None)
    return int(version)


def bump_feed_version() -> None:
    """Invalidate every cached feed: called after upvotes, submissions and ingestion."""
    try:
        cache.incr(_FEED_VERSION_KEY)
    except ValueError:  # not set yet (or evicted): any new value invalidates
        cache.set(_FEED_VERSION_KEY, 2, timeout=None)


def _listing(papers: PaperQuerySet) -> PaperQuerySet:
    return papers.visible().select_related("submitted_by")


def papers_in_period(period: Period, *, order: str = "votes") -> PaperQuerySet:
    """The visible papers listed in a period, most votes (local + source) first, or newest."""
    papers = _listing(Paper.objects.listed_between(period.first, period.last))
    if order == "newest":
        return papers.order_by("-published_at", "-listed_on", "-id")
    return papers.by_votes()


def latest_listed_day(*, until: date | None = None) -> date | None:
    """The most recent day with visible papers (on or before `until`)."""
    papers = Paper.objects.visible()
    if until is not None:
        papers = papers.filter(listed_on__lte=until)
    return papers.order_by("-listed_on").values_list("listed_on", flat=True).first()


def papers_for_day(day: date) -> PaperQuerySet:
    """The visible papers listed on `day`, most votes first."""
    return papers_in_period(period_of("date", day))


@dataclass(frozen=True, slots=True)
class Neighbours:
    previous: Period | None
    next: Period | None


def neighbour_periods(period: Period, *, today: date) -> Neighbours:
    """The nearest earlier and later periods that have papers, never past today."""
    visible = Paper.objects.visible()
    before = (
        visible.filter(listed_on__lt=period.first)
        .order_by("-listed_on")
        .values_list("listed_on", flat=True)
        .first()
    )
    after = (
        visible.filter(listed_on__gt=period.last, listed_on__lte=today)
        .order_by("listed_on")
        .values_list("listed_on", flat=True)
        .first()
    )
    return Neighbours(
        previous=period_of(period.kind, before) if before else None,
        next=period_of(period.kind, after) if after else None,
    )


def trending_papers(*, now: datetime, days: int = TRENDING_DAYS) -> PaperQuerySet:
    """Papers of the last `days` days ranked by votes / (hours since listed + 2) ** 1.8.

    A paper counts as listed at midnight UTC of its day; the score is computed by the
    database (one CASE arm per day in the window gives its age in hours).
    """
    today = now.date()
    first = today - timedelta(days=days - 1)
    midnight = datetime(today.year, today.month, today.day, tzinfo=now.tzinfo)
    hours_today = (now - midnight).total_seconds() / 3600
    age = Case(
        *[
            When(listed_on=today - timedelta(days=n), then=Value(hours_today + 24 * n))
            for n in range(days)
        ],
        default=Value(24.0 * days),
        output_field=FloatField(),
    )
    votes = Cast(F("upvote_count") + F("source_upvotes"), FloatField())
    score = votes / Power(age + Value(2.0), Value(TRENDING_GRAVITY))
    return (
        _listing(Paper.objects.listed_between(first, today))
        .annotate(score=score)
        .order_by("-score", "-listed_on", "-id")
    )


def arxiv_id_in_query(query: str) -> str | None:
    """The arXiv id a query is, or links to (an id, an arXiv or Hugging Face URL)."""
    text = query.strip()
    if not text or any(c.isspace() for c in text):
        return None
    arxiv_id, _version = split_arxiv_id(text)
    return arxiv_id if is_valid_arxiv_id(arxiv_id) else None


def search_papers(query: str) -> PaperQuerySet:
    """Visible papers matching `query`, most relevant first.

    PostgreSQL: full-text search on the weighted vector (title > authors, keywords >
    abstract). Elsewhere: a substring match, title matches before abstract matches.
    """
    papers = _listing(Paper.objects.all())
    query = query.strip()
    if not query:
        return papers.none()
    if connection.vendor == "postgresql":
        search = SearchQuery(query, config="english", search_type="websearch")
        return (
            papers.filter(search_vector=search)
            .annotate(rank=SearchRank(F("search_vector"), search))
            .order_by("-rank", "-published_at", "-id")
        )
    words = query.split()[:8]
    in_title = Q()
    anywhere = Q()
    for word in words:
        in_title &= Q(title__icontains=word)
        anywhere &= Q(title__icontains=word) | Q(abstract__icontains=word)
    return (
        papers.filter(anywhere)
        .annotate(rank=Case(When(in_title, then=Value(1.0)), default=Value(0.5)))
        .order_by("-rank", "-published_at", "-id")
    )


def search_terms(query: str) -> list[str]:
    """The words of a query worth highlighting (no operators, no one-letter words)."""
    words = re.findall(r"[\w\-]+", query.lower())
    return [w for w in words if len(w) > 1 and w not in {"or", "and", "not"}]


def related_papers(paper: Paper, *, limit: int = 5) -> list[Paper]:
    """A few papers close to this one: sharing title words (PostgreSQL) or its listing day."""
    others = _listing(Paper.objects.exclude(pk=paper.pk))
    if connection.vendor == "postgresql":
        words = [w for w in re.findall(r"[a-zA-Z]{4,}", paper.title)][:12]
        if words:
            search = SearchQuery(" | ".join(words), config="english", search_type="raw")
            found = list(
                others.filter(search_vector=search)
                .annotate(rank=SearchRank(F("search_vector"), search))
                .order_by("-rank")[:limit]
            )
            if found:
                return found
    return list(others.filter(listed_on=paper.listed_on).by_votes()[:limit])


def upvoted_ids(user, paper_ids: Iterable[int]) -> set[int]:
    """Which of these papers the user has upvoted (one query; empty for anonymous)."""
    ids = list(paper_ids)
    if not getattr(user, "is_authenticated", False) or not ids:
        return set()
    return set(
        Upvote.objects.filter(user=user, paper_id__in=ids).values_list("paper_id", flat=True)
    )


def user_upvoted_papers(user) -> PaperQuerySet:
    """The papers a member upvoted, most recent vote first."""
    return (
        _listing(Paper.objects.filter(upvotes__user=user))
        .annotate(voted_at=F("upvotes__created_at"))
        .order_by("-voted_at")
    )


def paper_by_id(arxiv_id: str) -> Paper | None:
    """A visible paper by arXiv id, with its submitter."""
    return _listing(Paper.objects.filter(arxiv_id=arxiv_id)).first()

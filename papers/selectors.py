"""Reads of papers for pages, feeds and the API. Each returns everything a page needs
with a constant number of queries."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    FloatField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import Cast, Power

from accounts.models import User
from papers.models import Paper, PaperQuerySet, Upvote
from papers.periods import Period, period_of
from papers.sources.records import is_valid_arxiv_id, split_arxiv_id

ORDERS = ("votes", "newest")
FEED_PAGE_SIZE = 50
SEARCH_PAGE_SIZE = 20
TRENDING_DAYS = 7
TRENDING_GRAVITY = 1.8


def listing(papers: PaperQuerySet) -> PaperQuerySet:
    """Visible papers with what every list shows (the submitter), without the search vector."""
    # The search vector is only ever read by the database: never ship it to Python.
    return papers.visible().select_related("submitted_by").defer("search_vector")


def in_category(papers: PaperQuerySet, category: str) -> PaperQuerySet:
    """The papers whose primary category or a cross-list is `category` ("": all)."""
    return papers.filter(categories__includes=category) if category else papers


def papers_in_period(period: Period, *, order: str = "votes", category: str = "") -> PaperQuerySet:
    """The visible papers listed in a period, most votes (local + source) first, or newest."""
    papers = in_category(listing(Paper.objects.listed_between(period.first, period.last)), category)
    if order == "newest":
        return papers.order_by("-published_at", "-listed_on", "-id")
    return papers.by_votes()


def latest_listed_day(*, until: date | None = None, category: str = "") -> date | None:
    """The most recent day with visible papers (on or before `until`)."""
    papers = in_category(Paper.objects.visible(), category)
    if until is not None:
        papers = papers.filter(listed_on__lte=until)
    return papers.order_by("-listed_on").values_list("listed_on", flat=True).first()


@dataclass(frozen=True, slots=True)
class Neighbours:
    previous: Period | None
    next: Period | None


def neighbour_periods(period: Period, *, today: date, category: str = "") -> Neighbours:
    """The nearest earlier and later periods that have papers, never past today (2 queries,
    each a few steps along the listing index, not an aggregate over every paper)."""
    days = in_category(Paper.objects.visible(), category).values_list("listed_on", flat=True)
    before = days.filter(listed_on__lt=period.first).order_by("-listed_on").first()
    after = (
        days.filter(listed_on__gt=period.last, listed_on__lte=today).order_by("listed_on").first()
    )
    return Neighbours(
        previous=period_of(period.kind, before) if before else None,
        next=period_of(period.kind, after) if after else None,
    )


@dataclass(frozen=True, slots=True)
class FeedPage:
    period: Period
    papers: list[Paper]
    neighbours: Neighbours
    page: int
    pages: int
    total: int


def page_of(papers: PaperQuerySet, start: int, size: int) -> PaperQuerySet:
    """`papers[start:start + size]`, read in two steps within one query: the page's ids in
    order first, from what the indexes hold (for a period, paper_listed_cover), then those
    papers whole, with their submitters. Read whole at once, every paper of the period was
    fetched before the page was kept: a month of all of arXiv is 13,700 papers on as many
    table pages, 142 ms cold with the members joined to each, 239 ms without the join once
    the feed's count spilled to disk; from the index, 7.7 ms."""
    return papers.filter(pk__in=papers.select_related(None).values("pk")[start : start + size])


def period_total(period: Period, *, category: str = "") -> Subquery:
    """How many papers a period has, for a feed page to carry on each row: counted from
    the index beside the page's own query, not by a COUNT of its own."""
    counted = papers_in_period(period, category=category).select_related(None).order_by()
    return Subquery(counted.annotate(n=Window(Count("pk"))).values("n")[:1])


def feed_rows(
    period: Period, *, order: str = "votes", start: int = 0, category: str = ""
) -> PaperQuerySet:
    """A page of a feed's papers from `start`, each with the period's total: one query."""
    papers = papers_in_period(period, order=order, category=category)
    return page_of(papers, start, FEED_PAGE_SIZE).annotate(
        total=period_total(period, category=category)
    )


def feed_page(
    period: Period, *, order: str, page: int, today: date, category: str = ""
) -> FeedPage:
    """One page of a feed with its navigation (a page past the last is the last)."""
    page = max(page, 1)
    start = (page - 1) * FEED_PAGE_SIZE
    rows: list[Any] = list(feed_rows(period, order=order, start=start, category=category))
    total = rows[0].total if rows else papers_in_period(period, category=category).count()
    pages = max(1, -(-total // FEED_PAGE_SIZE))
    if not rows and page > pages:
        return feed_page(period, order=order, page=pages, today=today, category=category)
    return FeedPage(
        period=period,
        papers=rows,
        neighbours=neighbour_periods(period, today=today, category=category),
        page=page,
        pages=pages,
        total=total,
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
        listing(Paper.objects.listed_between(first, today))
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


def search_papers(query: str, *, category: str = "") -> PaperQuerySet:
    """Visible papers matching `query`, most relevant first.

    PostgreSQL: full-text search on the weighted vector (title > authors, keywords >
    abstract). Elsewhere: a substring match, title matches before abstract matches.
    """
    papers = in_category(listing(Paper.objects.all()), category)
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


def papers_by_ids(ids: list[int]) -> list[Paper]:
    """Visible papers by primary key, in the order given (one query)."""
    found = {p.pk: p for p in listing(Paper.objects.filter(pk__in=ids))}
    return [found[pk] for pk in ids if pk in found]


def related_ids(paper: Paper, *, limit: int = 5) -> list[int]:
    """The ids of a few papers close to this one: sharing title words (PostgreSQL), or its
    listing day."""
    others = Paper.objects.visible().exclude(pk=paper.pk)
    if connection.vendor == "postgresql":
        words = re.findall(r"[a-zA-Z]{4,}", paper.title)[:12]
        if words:
            search = SearchQuery(" | ".join(words), config="english", search_type="raw")
            found = list(
                others.filter(search_vector=search)
                .annotate(rank=SearchRank(F("search_vector"), search))
                .order_by("-rank")
                .values_list("pk", flat=True)[:limit]
            )
            if found:
                return found
    return list(
        others.filter(listed_on=paper.listed_on).by_votes().values_list("pk", flat=True)[:limit]
    )


@dataclass(frozen=True, slots=True)
class SearchPage:
    papers: list[Paper]
    number: int
    pages: int
    total: int
    more: bool = False  # more papers matched than `total`


@dataclass(frozen=True, slots=True)
class Ranking:
    ids: list[int]  # one page of the matches, most relevant first
    total: int  # every match (or every match ranked, with `more`)
    more: bool = False  # more matched than were ranked


def search_ranking(
    query: str, *, page: int, size: int = SEARCH_PAGE_SIZE, category: str = ""
) -> Ranking:
    """One page of the matches of `query`, with how many there are (1 query)."""
    results = search_papers(query, category=category)
    start = (max(page, 1) - 1) * size
    rows = list(
        results.annotate(total=Window(Count("id"))).values_list("pk", "total")[start : start + size]
    )
    total = rows[0][1] if rows else results.count()
    return Ranking(ids=[pk for pk, _total in rows], total=total)


def upvoted_ids(user: User | AnonymousUser, paper_ids: Iterable[int]) -> set[int]:
    """Which of these papers the user has upvoted (one query; empty for anonymous)."""
    ids = list(paper_ids)
    if isinstance(user, AnonymousUser) or not ids:
        return set()
    return set(
        Upvote.objects.filter(user=user, paper_id__in=ids).values_list("paper_id", flat=True)
    )


def vote_marks(user: User, paper_ids: Iterable[int]) -> dict[int, tuple[int, bool]]:
    """{paper id: (votes shown, upvoted by this member)} for the visible ones (1 query)."""
    upvoted = Upvote.objects.filter(user=user, paper=OuterRef("pk"))
    rows = (
        Paper.objects.visible()
        .filter(pk__in=list(paper_ids))
        .annotate(shown=F("upvote_count") + F("source_upvotes"), upvoted=Exists(upvoted))
        .values_list("pk", "shown", "upvoted")
    )
    return {pk: (shown, upvoted) for pk, shown, upvoted in rows}


def user_upvoted_papers(user: User) -> PaperQuerySet:
    """The papers a member upvoted, most recent vote first."""
    return (
        listing(Paper.objects.filter(upvotes__user=user))
        .annotate(voted_at=F("upvotes__created_at"))
        .order_by("-voted_at")
    )


def latest_papers() -> PaperQuerySet:
    """Every visible paper, the latest listed first."""
    return listing(Paper.objects.all()).order_by("-listed_on", "-published_at", "-id")


def paper_by_id(arxiv_id: str) -> Paper | None:
    """A visible paper by arXiv id, with its submitter."""
    # Not .first(): its ORDER BY id can make PostgreSQL walk the primary key instead of
    # using the unique arxiv_id index.
    return next(iter(listing(Paper.objects.filter(arxiv_id=arxiv_id))[:1]), None)


def daily_papers(
    *,
    period: Period | None,
    sort: str,
    submitter: str | None,
    page: int,
    limit: int,
    now: datetime,
    category: str = "",
) -> list[Paper]:
    """One page of daily papers, as Hugging Face's `/api/daily_papers` pages them.

    publishedAt: in a period, newest first; without one, the latest listed days first.
    trending: in a period, most votes first; without one, the site's trending ranking.
    """
    papers: PaperQuerySet
    if sort == "trending":
        papers = papers_in_period(period) if period else trending_papers(now=now)
    elif period is not None:
        papers = papers_in_period(period, order="newest")
    else:
        papers = latest_papers()
    papers = in_category(papers, category)
    if submitter:
        papers = papers.filter(
            Q(submitted_by__username=submitter)
            | Q(submitted_by=None, source_submitter__user=submitter)
        )
    return list(page_of(papers, page * limit, limit))


def papers_filtered(
    *,
    since: date | None = None,
    until: date | None = None,
    q: str = "",
    has_github: bool | None = None,
    min_upvotes: int | None = None,
    category: str = "",
) -> PaperQuerySet:
    """Visible papers by listing dates, text, category, code and votes (ordered by the
    caller)."""
    papers = search_papers(q) if q.strip() else listing(Paper.objects.all())
    papers = in_category(papers, category)
    if since is not None:
        papers = papers.filter(listed_on__gte=since)
    if until is not None:
        papers = papers.filter(listed_on__lte=until)
    if has_github is True:
        papers = papers.exclude(github_repo="")
    elif has_github is False:
        papers = papers.filter(github_repo="")
    if min_upvotes is not None:
        papers = papers.alias(total_votes=F("upvote_count") + F("source_upvotes")).filter(
            total_votes__gte=min_upvotes
        )
    return papers

"""What the papers app caches, on the `caching` package (its docstring maps the layers):
each paper's card, the pages made of them for visitors and for members, which papers a
member upvoted, and `changed()`, which every write to papers or votes calls.

A page is kept twice: for visitors whole and compressed (it is the same for all of them),
for members as a skeleton whose holes are their CSRF token, name and email, and each
card's count and vote mark. A member's request fills it from what this process keeps:
their marks, and the counts of the skeleton or the newer ones announced with votes since
it was built (so they see their own vote at once). Without a trusted copy of the
announcements, one query reads their marks and the current counts instead.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any, NamedTuple, Protocol, cast
from urllib.parse import quote

from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import get_messages
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from accounts.models import User
from caching import announce, skeletons, store
from caching.generations import ALL, Stamp, generations
from caching.responses import Body, send
from caching.skeletons import MEMBER, Skeleton, hole
from papers import search, selectors, vectors
from papers.embeddings import EMBEDDINGS_SCOPE
from papers.models import Paper, Upvote
from papers.periods import Period, period_of
from papers.rendering import highlight_html, math_html
from papers.selectors import SearchPage

BULK_PAPERS = 1_000  # beyond this many papers, a change is announced as "everything"
MARKS_LIMIT = 5_000  # members with more votes have their marks read for each page
MARKS_BYTES = 16 * 2**20

# --- what changed --------------------------------------------------------------------------


class Touched(Protocol):
    """A paper as a change names it (a Paper will do)."""

    @property
    def arxiv_id(self) -> str: ...

    @property
    def listed_on(self) -> date: ...


class PaperRef(NamedTuple):
    """A paper named by what the caches key it on."""

    arxiv_id: str
    listed_on: date


RECENT_DAYS = selectors.TRENDING_DAYS + 1  # a day more, for a change made past midnight


def period_scope(period: Period) -> str:
    """The scope of what a day, a week or a month lists."""
    return f"{'day' if period.kind == 'date' else period.kind}:{period.slug}"


def voter_scope(member_id: int) -> str:
    """The scope of a member's own votes (what their marks and their own answers show)."""
    return f"votes:{member_id}"


def scopes_of(papers: Iterable[Touched]) -> set[str]:
    """The scopes a change to these papers touches: each paper, the day, week and month it
    is listed in, and `recent` (what trending ranks) when that day is one of the last."""
    scopes: set[str] = set()
    recent = timezone.now().date() - timedelta(days=RECENT_DAYS)
    for paper in papers:
        scopes.add(f"paper:{paper.arxiv_id}")
        scopes.update(_periods_of(paper.listed_on))
        if paper.listed_on >= recent:
            scopes.add("recent")
    return scopes


@functools.lru_cache(maxsize=4096)
def _periods_of(day: date) -> tuple[str, ...]:
    return tuple(period_scope(period_of(kind, day)) for kind in ("date", "week", "month"))


def changed(
    *,
    papers: Iterable[Touched] = (),
    member_id: int | None = None,
    votes: Mapping[int, int] | None = None,
    catalog: bool = False,
    hard: bool = False,
    everything: bool = False,
    hard_scopes: Iterable[str] = (),
) -> None:
    """Say what a write changed, once it is committed (at once outside a transaction).

    `papers`: papers whose content, votes or listing changed (give a moved paper twice,
    with its old and its new day). `member_id`: a member whose own votes changed. `votes`:
    {paper id: votes shown} after a vote, announced to every process. `catalog`: papers
    appeared or disappeared. `hard`: what changed must not be shown late, even for a
    second (a paper hidden by a moderator). `hard_scopes`: other scopes changed at once
    (a paper's discussion: its author must see their comment on the next page).
    """
    papers = list(papers)
    scopes = {ALL} if everything or len(papers) > BULK_PAPERS else scopes_of(papers)
    if catalog:
        scopes.add("catalog")
    member = {voter_scope(member_id)} if member_id is not None else set()
    member.update(hard_scopes)
    facts = {f"votes:{pk}": str(count) for pk, count in (votes or {}).items()}
    if hard:
        announce(hard=scopes | member, facts=facts)
    else:
        announce(soft=scopes, hard=member, facts=facts)


# --- vote buttons ---------------------------------------------------------------------------


class VoteMark(NamedTuple):
    """What a vote button shows: the count and, for members, whether they upvoted."""

    votes: int | str
    pressed: str  # aria-pressed: "true" or "false"


def vote_mark(votes: int, upvoted: bool) -> VoteMark:
    return VoteMark(votes, "true" if upvoted else "false")


def vote_holes(paper_id: int) -> VoteMark:
    return VoteMark(hole("count", paper_id), hole("pressed", paper_id))


_PRESSED = {True: b"true", False: b"false"}


def vote_values(votes: Mapping[int, tuple[int, bool]]) -> dict[str, bytes]:
    """The values of the vote holes, from {paper id: (votes, upvoted)}."""
    values: dict[str, bytes] = {}
    for pk, (count, upvoted) in votes.items():
        values[f"count:{pk}"] = str(count).encode()
        values[f"pressed:{pk}"] = _PRESSED[upvoted]
    return values


# --- cards ------------------------------------------------------------------------------------


def card(paper: Paper, *, member: bool, today: date) -> str:
    """The paper's card, rendered once per paper version and audience, with holes for its
    votes, its title and abstract (search marks its words in them) and the page it is on."""
    # Dates on cards leave out the current year: the year is part of the key.
    key = ("card", paper.pk, paper.updated_at, member, today.year)
    text = skeletons.fragments.get(key)
    if text is None:
        text = render_to_string(
            "includes/paper_card.html",
            {
                "paper": paper,
                "vote": vote_holes(paper.pk),
                "title_html": hole("title", paper.pk),
                "abstract_html": hole("abstract", paper.pk),
                "here": hole("here"),
                "login_next": hole("login_next"),
                "user": MEMBER if member else AnonymousUser(),
                "csrf_token": skeletons.CSRF,
            },
        )
        skeletons.fragments.put(key, text, len(text))
    return text


def cards_html(papers: Iterable[Paper], *, member: bool, today: date) -> SafeString:
    """The cards of these papers, one after the other, with their holes."""
    return mark_safe("".join(card(paper, member=member, today=today) for paper in papers))


# --- rankings: the slow queries, kept until the set of papers changes -------------------------

RANKING_SECONDS = 3600  # related papers and search rankings are recomputed at least hourly


def search_page(
    query: str, *, page: int, size: int = selectors.SEARCH_PAGE_SIZE, category: str = ""
) -> SearchPage:
    """One page of search results. Ranking every match of a common word takes about half a
    second at 100,000 papers: the ranking is kept until papers appear or disappear, and
    only the papers themselves (their counts) are read again."""
    ranking = store.fetch(
        f"ranking:{size}:{page}:{category}:{query}",
        lambda: store.Built(search.ranking(query, page=page, size=size, category=category), (), 64),
        scopes=["catalog", EMBEDDINGS_SCOPE],
        max_age=RANKING_SECONDS,
    ).value
    return SearchPage(
        papers=selectors.papers_by_ids(ranking.ids),
        number=max(page, 1),
        pages=max(1, -(-ranking.total // size)),
        total=ranking.total,
        more=ranking.more,
    )


def papers_matching(query: str, *, limit: int, category: str = "") -> list[Paper]:
    """Search results, with the paper itself first when the query is its arXiv id or URL;
    the latest papers for an empty query (of `category`, if given)."""
    if not query.strip():
        return list(selectors.in_category(selectors.latest_papers(), category)[:limit])
    found = search_page(query, page=1, size=limit, category=category).papers
    arxiv_id = selectors.arxiv_id_in_query(query)
    if arxiv_id and all(p.arxiv_id != arxiv_id for p in found):
        paper = selectors.paper_by_id(arxiv_id)
        if paper is not None:
            found = [paper, *found][:limit]
    return found


def similar_ids(paper: Paper, *, limit: int) -> list[int]:
    """The papers nearest this one by meaning; by shared title words until it has a vector."""
    return vectors.similar_ids(paper.pk, limit=limit) or selectors.related_ids(paper, limit=limit)


def related_papers(paper: Paper, *, limit: int = 5) -> list[Paper]:
    """A few papers close to this one, kept like a search ranking. A few more are read
    than shown: a hidden one is left out."""
    ids = store.fetch(
        f"related:{limit}:{paper.arxiv_id}",
        lambda: store.Built(similar_ids(paper, limit=limit + 5), (), 64),
        scopes=["catalog", EMBEDDINGS_SCOPE],
        max_age=RANKING_SECONDS,
    ).value
    return selectors.papers_by_ids(ids)[:limit]


# --- pages ------------------------------------------------------------------------------------


class Loaded(NamedTuple):
    """What a page shows, read from the database by the view's loader."""

    context: dict[str, Any]  # for the template, besides the cards
    cards: list[Paper]  # the papers shown as cards, in order (as `cards_html`)
    shown: list[Paper]  # every paper whose votes the page shows, the cards' included
    terms: list[str] = []  # search terms to mark on the cards
    scopes: Iterable[str] = ()  # scopes found while reading (see caching.store.fetch)
    # Parts rendered for the audience (member or not): {context name: render(member)}.
    parts: Mapping[str, Callable[[bool], str]] = {}


class PageValue(NamedTuple):
    skeleton: Skeleton  # with UTF-8 statics
    votes: dict[int, int]  # paper id -> votes when built


class MemberPage(NamedTuple):
    """A members' skeleton compiled for filling: its holes are indexes into a list of
    values made for each request: [csrf, label, email, count 1, mark 1, count 2, ...,
    then the `extras`: holes a page's sections fill for the member]."""

    statics: tuple[bytes, ...]
    pick: operator.itemgetter[Any]  # the values in the order of the holes
    pks: tuple[int, ...]
    facts: tuple[str, ...]  # the key of each paper's announced votes
    counts: tuple[int, ...]  # votes when built
    encoded: tuple[bytes, ...]  # the same, as they are written
    extras: tuple[str, ...]  # the other holes, in their order in the list

    @classmethod
    def compile(cls, value: PageValue) -> MemberPage:
        slots = {"csrf": 0, "label": 1, "email": 2}
        for i, pk in enumerate(value.votes):
            slots[f"count:{pk}"] = 3 + 2 * i
            slots[f"pressed:{pk}"] = 4 + 2 * i
        extras = tuple(dict.fromkeys(name for name in value.skeleton.holes if name not in slots))
        for i, name in enumerate(extras):
            slots[name] = 3 + 2 * len(value.votes) + i
        indexes = [slots[name] for name in value.skeleton.holes]
        counts = tuple(value.votes.values())
        return cls(
            statics=value.skeleton.statics,
            # itemgetter of one index returns the item, not a 1-tuple: pad to two.
            pick=operator.itemgetter(*indexes, 0) if indexes else operator.itemgetter(0, 0),
            pks=tuple(value.votes),
            facts=tuple(f"votes:{pk}" for pk in value.votes),
            counts=counts,
            encoded=tuple(str(count).encode() for count in counts),
            extras=extras,
        )

    def fill(self, values: list[bytes]) -> bytes:
        parts: list[bytes] = [b""] * (2 * len(self.statics) - 1)
        parts[0::2] = self.statics
        parts[1::2] = self.pick(values)[: len(self.statics) - 1]
        return b"".join(parts)


def respond(
    request: HttpRequest,
    *,
    key: str,
    template: str,
    load: Callable[[], Loaded],
    here: Callable[[], str],
    scopes: Iterable[str] = (),
    max_age: float = store.DEFAULT_TTL,
    personal: Callable[[User, Sequence[str]], Mapping[str, bytes]] | None = None,
) -> HttpResponse:
    """The page at `here()` (its canonical path, made only when the page is built): `load`
    reads what it shows, `scopes` says what it depends on before reading; `key` names it
    among the cached pages. `personal` fills the holes the page's parts left for a member
    (given their names; an unfilled one is left empty)."""
    member = request.user.is_authenticated
    messages = get_messages(request)
    if not member and not len(messages):
        entry = store.fetch(
            f"page:visitor:{key}",
            lambda: _visitor_body(_build(template, load, here, member=False)),
            scopes=scopes,
            max_age=max_age,
        )
        return send(request, entry.value, content_type="text/html; charset=utf-8")

    def build() -> store.Built:
        built = _build(template, load, here, member=member, messages=messages)
        return store.Built(MemberPage.compile(built.value), built.scopes, built.size)

    if len(messages):
        # Flash messages are shown once: this page is built for this request alone.
        entry = store.build_entry(build, scopes=scopes)
    else:
        entry = store.fetch(f"page:member:{key}", build, scopes=scopes, max_age=max_age)
    page: MemberPage = entry.value
    if member:
        user = cast(User, request.user)  # a member
        values = [
            escape(skeletons.csrf_token(request)).encode(),
            escape(user.label).encode(),
            escape(user.email).encode(),
        ]
        _add_votes(values, page, user, since=entry.snapshot_at)
        if page.extras:
            filled = personal(user, page.extras) if personal is not None else {}
            values += [filled.get(name, b"") for name in page.extras]
    else:
        values = [b"", b"", b""]
        for encoded in page.encoded:
            values += (encoded, b"false")
        values += [b""] * len(page.extras)
    return HttpResponse(page.fill(values))


def _add_votes(values: list[bytes], page: MemberPage, user: User, *, since: float) -> None:
    """Append each paper's count and this member's mark, as of now, to `values`: from what
    this process keeps, or from one query when that cannot be trusted."""
    marks = member_marks(user)
    facts = generations.facts() if marks is not None else None
    if marks is None or facts is None:
        current = selectors.vote_marks(user, page.pks)
        for pk, count in zip(page.pks, page.counts, strict=True):
            count, upvoted = current.get(pk, (count, False))
            values += (str(count).encode(), _PRESSED[upvoted])
        return
    for pk, key, encoded in zip(page.pks, page.facts, page.encoded, strict=True):
        fact = facts.get(key)
        if fact is not None and fact[1] >= since:  # a vote announced since the build began
            encoded = fact[0].encode()
        values += (encoded, _PRESSED[pk in marks])


_marks: store.LRU[int, tuple[frozenset[int], Stamp]] = store.LRU(MARKS_BYTES)


def member_marks(user: User) -> frozenset[int] | None:
    """The ids of the papers the member upvoted, kept in this process until their next
    vote (None for members with very many votes: their pages read the marks they show)."""
    scope = voter_scope(user.pk)
    try:
        generation = generations.stamp(scope)
    except store.CACHE_DOWN:
        return None
    kept = _marks.get(user.pk)
    if kept is not None and kept[1] == generation:
        return kept[0]
    ids = list(
        Upvote.objects.filter(user=user).values_list("paper_id", flat=True)[: MARKS_LIMIT + 1]
    )
    if len(ids) > MARKS_LIMIT:
        return None
    marks = frozenset(ids)
    _marks.put(user.pk, (marks, generation), 64 + 40 * len(ids))
    return marks


def _build(
    template: str,
    load: Callable[[], Loaded],
    here: Callable[[], str],
    *,
    member: bool,
    messages: Any = (),
) -> store.Built:
    loaded = load()
    path = here()
    today = timezone.now().date()
    login_next = quote(path, safe="/")
    context = {
        **loaded.context,
        **{name: mark_safe(render(member)) for name, render in loaded.parts.items()},
        "cards_html": cards_html(loaded.cards, member=member, today=today),
        "here": path,
        "login_next": login_next,
    }
    text = skeletons.render_page(template, context, member=member, messages=messages)
    values = {"here": escape(path), "login_next": escape(login_next)}
    for paper in loaded.cards:
        if loaded.terms:
            values[f"title:{paper.pk}"] = highlight_html(paper.title, loaded.terms)
            values[f"abstract:{paper.pk}"] = highlight_html(paper.abstract, loaded.terms)
        else:
            values[f"title:{paper.pk}"] = math_html(paper.title)
            values[f"abstract:{paper.pk}"] = math_html(paper.abstract)
    skeleton = Skeleton.parse(text).resolve(values).encoded()
    value = PageValue(skeleton, {paper.pk: paper.votes for paper in loaded.shown})
    return store.Built(value, loaded.scopes, skeleton.size)


def _visitor_body(built: store.Built) -> store.Built:
    """A visitor's page: the skeleton filled with the counts it was built with."""
    value: PageValue = built.value
    votes = {pk: (count, False) for pk, count in value.votes.items()}
    body = Body.of(value.skeleton.fill(vote_values(votes)))
    return store.Built(body, built.scopes, body.size)


def paper_scopes(papers: Iterable[Paper]) -> list[str]:
    """The scopes of these papers (what a page showing them depends on)."""
    return [f"paper:{paper.arxiv_id}" for paper in papers]

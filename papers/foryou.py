""" "For you": the recent papers ranked for one member by what they upvoted, saved and
follow, each with the reason it is there ("because you upvoted ...").

A member's taste is the mean of the vectors of the papers they upvoted (the latest
TASTE_PAPERS), saved (apps above `papers` register what a member saved: readinglists does)
and follow (the papers of followed authors and members, and followed topics embedded as
text). It is kept in the cache until they vote, save or follow again, and rebuilt in the
background after they do (tasks.refresh_taste), so their next page is ready.

The candidates are the visible papers listed in the CANDIDATE_DAYS days up to the latest
listing day that have a vector, minus those the member upvoted; each is explained by the
signal it is closest to.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

import numpy as np
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from caching import store
from papers import caching as pages
from papers import vectors
from papers.authors import papers_by_author
from papers.embeddings import EMBEDDINGS_SCOPE, embed_texts
from papers.follows import follows_of, follows_scope
from papers.models import Follow, Paper, Upvote
from papers.selectors import listing

TASTE_PAPERS = 500  # the latest upvotes a taste is made of
FOLLOWED_PAPERS = 20  # papers of each followed author or member
CANDIDATE_DAYS = 30
CANDIDATES = 20_000
PAGE_SIZE = 30
TASTE_SECONDS = 3600
STARTER_TOPICS = (
    "large language models",
    "reasoning and reinforcement learning",
    "diffusion models and image generation",
    "computer vision",
    "robotics",
    "speech and audio",
    "agents and tool use",
    "AI safety and alignment",
)


@dataclass(frozen=True)
class Signal:
    """Something the member did that says what they like: a vector, and why."""

    reason: str  # "you upvoted “…”", "you follow diffusion"
    vector: np.ndarray
    paper_id: int | None = None  # the paper itself, when the signal is one


# Apps above `papers` add what a member saved: (member) -> [(paper id, reason)], and the
# cache scope a change to it announces (member id -> scope).
SavedPapers = Callable[[User], list[tuple[int, str]]]
_saved: list[tuple[SavedPapers, Callable[[int], str]]] = []


def register_saved(provider: SavedPapers, scope: Callable[[int], str]) -> None:
    _saved.append((provider, scope))


def taste_scopes(member_id: int) -> list[str]:
    """What a member's taste depends on: their votes, follows and saves, and the vectors."""
    return [
        pages.voter_scope(member_id),
        follows_scope(member_id),
        EMBEDDINGS_SCOPE,
        *(scope(member_id) for _provider, scope in _saved),
    ]


@dataclass(frozen=True)
class Taste:
    vector: np.ndarray | None  # None: no signal yet
    signals: list[Signal] = field(default_factory=list)
    upvoted: frozenset[int] = frozenset()


def _paper_signals(papers: Sequence[tuple[int, str]], index: vectors.Index) -> list[Signal]:
    found = index.vectors(pk for pk, _reason in papers)
    return [Signal(reason, found[pk], pk) for pk, reason in papers if pk in found]


def build_taste(user: User) -> Taste:
    """The member's taste, from what they did (a few queries, and the index)."""
    index = vectors.index()
    upvoted = list(
        Upvote.objects.filter(user=user)
        .order_by("-created_at")
        .values_list("paper_id", "paper__title")[:TASTE_PAPERS]
    )
    signals = _paper_signals([(pk, f"you upvoted “{title}”") for pk, title in upvoted], index)
    for provider, _scope in _saved:
        signals += _paper_signals(provider(user), index)
    topics: list[str] = []
    for item in follows_of(user):
        if item.kind == Follow.Kind.TOPIC:
            topics.append(item.label)
        elif item.kind == Follow.Kind.AUTHOR:
            papers = [(p.pk, f"you follow {item.label}") for p in papers_by_author(item.label)]
            signals += _paper_signals(papers[:FOLLOWED_PAPERS], index)
        elif item.member_id is not None:
            theirs = listing(Paper.objects.filter(submitted_by_id=item.member_id))
            ids = theirs.order_by("-listed_on").values_list("pk", flat=True)[:FOLLOWED_PAPERS]
            signals += _paper_signals([(pk, f"you follow @{item.label}") for pk in ids], index)
    if topics:
        for topic, vector in zip(topics, embed_texts(topics), strict=True):
            if vector.any():
                signals.append(Signal(f"you follow “{topic}”", vector))
    if not signals:
        return Taste(None, [], frozenset(pk for pk, _title in upvoted))
    mean = np.mean(np.stack([s.vector for s in signals]), axis=0)
    norm = float(np.linalg.norm(mean))
    return Taste(mean / norm if norm else None, signals, frozenset(pk for pk, _title in upvoted))


def taste(user: User) -> Taste:
    """The member's taste, kept until they act (and rebuilt in the background then)."""
    built: Taste = store.fetch(
        f"taste:{user.pk}",
        lambda: store.Built(build_taste(user), (), 64 * 1024),
        scopes=taste_scopes(user.pk),
        max_age=TASTE_SECONDS,
    ).value
    return built


@dataclass(frozen=True)
class Recommended:
    paper: Paper
    reason: str


@dataclass(frozen=True)
class ForYouPage:
    items: list[Recommended]
    page: int
    has_next: bool
    has_signal: bool


def _candidates() -> list[int]:
    """The papers listed in the CANDIDATE_DAYS up to the latest listing day (not today: a
    quiet month, or the demo's old day, still has papers to rank)."""
    visible = Paper.objects.visible()
    latest = visible.order_by("-listed_on").values_list("listed_on", flat=True).first()
    if latest is None:
        return []
    since = min(latest, timezone.now().date()) - timedelta(days=CANDIDATE_DAYS)
    recent = visible.filter(listed_on__gte=since).order_by("-listed_on", "-id")
    return list(recent.values_list("pk", flat=True)[:CANDIDATES])


def for_you(user: User, *, page: int) -> ForYouPage:
    """One page of the member's recommendations, the best first, each with its reason."""
    liked = taste(user)
    if liked.vector is None:
        return ForYouPage([], 1, False, has_signal=False)
    ids, matrix = vectors.index().stacked(pk for pk in _candidates() if pk not in liked.upvoted)
    if not ids:
        return ForYouPage([], 1, False, has_signal=True)
    scores = matrix @ liked.vector
    order = np.argsort(-scores, kind="stable")
    page = max(page, 1)
    start = (page - 1) * PAGE_SIZE
    chosen = [ids[i] for i in order[start : start + PAGE_SIZE]]
    signals = np.stack([s.vector for s in liked.signals])
    position = {pk: order_at for order_at, pk in enumerate(ids)}
    by_id = {p.pk: p for p in listing(Paper.objects.filter(pk__in=chosen))}
    items = []
    for pk in chosen:
        paper = by_id.get(pk)
        if paper is None:
            continue
        closest = liked.signals[int(np.argmax(signals @ matrix[position[pk]]))]
        items.append(Recommended(paper, f"Because {closest.reason}"))
    return ForYouPage(items, page, len(ids) > start + PAGE_SIZE, has_signal=True)


def refresh_later(member_id: int) -> None:
    """Rebuild the member's taste in the background once the write that changed it is
    committed (at once when tasks run eagerly). An unreachable broker is logged: the next
    read rebuilds it."""
    from papers import tasks

    transaction.on_commit(partial(tasks.refresh_taste.delay, member_id), robust=True)


def order_by_taste(paper_ids: Sequence[int], vector: np.ndarray) -> list[int]:
    """The positions of these papers, the closest to the taste first (papers with no
    vector yet last, in their order)."""
    ids, matrix = vectors.index().stacked(paper_ids)
    if not ids:
        return list(range(len(paper_ids)))
    where = {pk: i for i, pk in enumerate(paper_ids)}
    ranked = [where[ids[j]] for j in np.argsort(-(matrix @ vector), kind="stable")]
    known = set(ids)
    return ranked + [i for i, pk in enumerate(paper_ids) if pk not in known]

"""Follows: a member follows authors (every spelling of the name: papers/authors.py),
topics (a word or phrase, matched as search matches it) and other members (what they
submit and what they are a verified author of). The "Following" feed and the digests show
the papers of what a member follows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from http import HTTPStatus

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils.html import escape

from accounts.models import User
from caching import announce, store
from caching.skeletons import hole
from caching.users import member_scope
from config.refusals import Refused
from papers.authors import author_key, papers_by_author
from papers.models import AuthorClaim, Follow, Paper
from papers.selectors import listing, search_papers
from papers.terms import search_terms, terms_pattern

MAX_FOLLOWS = 200  # per member
PER_FOLLOW = 200  # the newest papers each follow adds to the feed
FEED_PAGE_SIZE = 30
FEED_SECONDS = 600  # the feed is rebuilt at least this often (new papers of a topic)
MAX_LABEL = 100


class FollowRefused(Refused):
    pass


def follows_scope(member_id: int) -> str:
    """The scope of what a member follows (their feed depends on it)."""
    return f"follows:{member_id}"


def _target(user: User, kind: str, value: str) -> tuple[str, str, User | None]:
    """(key, label, member) of what `value` names, or FollowRefused."""
    label = " ".join(str(value).split())[:MAX_LABEL]
    if kind == Follow.Kind.AUTHOR:
        key = author_key(label)
        if not key:
            raise FollowRefused("Name the author to follow.")
        return key, label, None
    if kind == Follow.Kind.TOPIC:
        if not search_terms(label):
            raise FollowRefused("A topic needs at least one word to look for.")
        return label.lower(), label, None
    if kind == Follow.Kind.MEMBER:
        member = User.objects.filter(username=label, is_active=True).first()
        if member is None:
            raise FollowRefused("No such member.", HTTPStatus.NOT_FOUND)
        if member.pk == user.pk:
            raise FollowRefused("Your own papers are on your profile already.")
        return str(member.pk), member.username, member
    raise FollowRefused("Follow an author, a topic or a member.")


def follow(*, user: User, kind: str, value: str) -> Follow:
    """Follow an author, a topic or a member (following twice keeps one follow)."""
    key, label, member = _target(user, kind, value)
    existing = Follow.objects.filter(user=user, kind=kind, key=key).first()
    if existing is not None:
        return existing
    if Follow.objects.filter(user=user).count() >= MAX_FOLLOWS:
        raise FollowRefused(
            f"You follow {MAX_FOLLOWS} things already: unfollow some first.",
            HTTPStatus.TOO_MANY_REQUESTS,
        )
    try:
        with transaction.atomic():
            made = Follow.objects.create(user=user, kind=kind, key=key, label=label, member=member)
    except IntegrityError:  # the same follow, made at the same moment
        return Follow.objects.get(user=user, kind=kind, key=key)
    announce(hard={follows_scope(user.pk)})  # once committed
    _refresh_taste(user.pk)
    return made


def unfollow(*, user: User, kind: str, value: str) -> bool:
    """Stop following; False if the member did not follow it."""
    try:
        key, _label, _member = _target(user, kind, value)
    except FollowRefused:
        return False
    deleted, _ = Follow.objects.filter(user=user, kind=kind, key=key).delete()
    if deleted:
        announce(hard={follows_scope(user.pk)})  # once committed
        _refresh_taste(user.pk)
    return bool(deleted)


def _refresh_taste(member_id: int) -> None:
    from papers.foryou import refresh_later  # it reads follows: imported when needed

    refresh_later(member_id)


def follows_of(user: User) -> list[Follow]:
    return list(Follow.objects.filter(user=user))


def is_following(user: User, kind: str, value: str) -> bool:
    try:
        key, _label, _member = _target(user, kind, value)
    except FollowRefused:
        return False
    return Follow.objects.filter(user=user, kind=kind, key=key).exists()


# --- the Following feed ----------------------------------------------------------------------


def _papers_of_members(member_ids: list[int]) -> list[int]:
    """The newest papers the members submitted or are verified authors of."""
    authored = AuthorClaim.objects.filter(
        user_id__in=member_ids, status=AuthorClaim.Status.APPROVED
    ).values("paper_id")
    found = listing(Paper.objects.filter(Q(submitted_by_id__in=member_ids) | Q(pk__in=authored)))
    return list(found.order_by("-listed_on", "-id").values_list("pk", flat=True)[:PER_FOLLOW])


def _feed_ids(follows: list[Follow]) -> list[int]:
    """The ids of the papers of what these follows name, newest first."""
    ids: set[int] = set()
    members = [f.member_id for f in follows if f.kind == Follow.Kind.MEMBER and f.member_id]
    if members:
        ids.update(_papers_of_members(members))
    for item in follows:
        if item.kind == Follow.Kind.AUTHOR:
            ids.update(paper.pk for paper in papers_by_author(item.label))
        elif item.kind == Follow.Kind.TOPIC:
            found = search_papers(item.label).order_by("-listed_on", "-id")
            ids.update(found.values_list("pk", flat=True)[:PER_FOLLOW])
    return list(
        Paper.objects.visible()
        .filter(pk__in=ids)
        .order_by("-listed_on", "-id")
        .values_list("pk", flat=True)
    )


@dataclass(frozen=True, slots=True)
class FeedPage:
    follows: list[Follow]
    papers: list[Paper]
    page: int
    has_next: bool
    scopes: list[str] = field(default_factory=list)


def following_page(user: User, *, page: int) -> FeedPage:
    """One page of the member's Following feed, newest first. The list of papers is kept
    until the member's follows change, papers appear or disappear, or FEED_SECONDS pass."""
    follows = follows_of(user)
    members = [f.member_id for f in follows if f.member_id]
    scopes = [follows_scope(user.pk), "catalog", *(member_scope(pk) for pk in members)]
    ids: list[int] = store.fetch(
        f"following:{user.pk}",
        lambda: store.Built(_feed_ids(follows), (), 64),
        scopes=scopes,
        max_age=FEED_SECONDS,
    ).value
    page = max(page, 1)
    start = (page - 1) * FEED_PAGE_SIZE
    shown = ids[start : start + FEED_PAGE_SIZE]
    by_id = {paper.pk: paper for paper in listing(Paper.objects.filter(pk__in=shown))}
    return FeedPage(
        follows=follows,
        papers=[by_id[pk] for pk in shown if pk in by_id],
        page=page,
        has_next=len(ids) > start + FEED_PAGE_SIZE,
        scopes=scopes,
    )


# --- digests ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Followed:
    """What a member follows, as digests match it against a period's papers."""

    topics: tuple[str, ...] = ()
    author_keys: frozenset[str] = frozenset()
    member_ids: frozenset[int] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.topics or self.author_keys or self.member_ids)

    @property
    def signature(self) -> tuple[object, ...]:
        return (self.topics, tuple(sorted(self.author_keys)), tuple(sorted(self.member_ids)))

    def matcher(self) -> FollowMatcher:
        return FollowMatcher(self)


class FollowMatcher:
    """Whether a paper is of what a member follows: a topic in its text, an author of
    theirs, or a member of theirs who submitted it or is its verified author."""

    def __init__(self, followed: Followed) -> None:
        self.followed = followed
        self.pattern = terms_pattern(list(followed.topics)) if followed.topics else None

    def __call__(self, *, text: str, author_keys: frozenset[str], members: frozenset[int]) -> bool:
        if self.pattern is not None and self.pattern.search(text):
            return True
        return not (
            self.followed.member_ids.isdisjoint(members)
            and self.followed.author_keys.isdisjoint(author_keys)
        )


def followed_by(member_ids: Iterable[int]) -> dict[int, Followed]:
    """{member id: what they follow} for these members: one query."""
    topics: dict[int, list[str]] = {}
    authors: dict[int, set[str]] = {}
    members: dict[int, set[int]] = {}
    ids = set(member_ids)
    if not ids:
        return {}
    rows = Follow.objects.filter(user_id__in=ids).values_list("user_id", "kind", "key", "member_id")
    for user_id, kind, key, member_id in rows:
        if kind == Follow.Kind.TOPIC:
            topics.setdefault(user_id, []).append(key)
        elif kind == Follow.Kind.AUTHOR:
            authors.setdefault(user_id, set()).add(key)
        elif member_id is not None:
            members.setdefault(user_id, set()).add(member_id)
    return {
        user_id: Followed(
            tuple(sorted(topics.get(user_id, []))),
            frozenset(authors.get(user_id, ())),
            frozenset(members.get(user_id, ())),
        )
        for user_id in topics.keys() | authors.keys() | members.keys()
    }


# --- the Follow button -------------------------------------------------------------------------

FOLLOW_HOLES = {
    "action": "follow_action",
    "pressed": "follow_pressed",
    "label": "follow_label",
    "hidden": "follow_hidden",
}


def button_holes() -> dict[str, str]:
    """A cached page's Follow button: holes each member's request fills (button_values)."""
    return {part: hole(name) for part, name in FOLLOW_HOLES.items()}


def plain_button(kind: str) -> dict[str, str]:
    """A Follow button that does not say whether the member follows already."""
    return {
        "action": reverse("people:follow", args=[kind]),
        "pressed": "false",
        "label": "Follow",
        "hidden": "",
    }


def button_values(user: User, kind: str, value: str, *, hidden: bool = False) -> dict[str, bytes]:
    """The holes of the button for this member: Follow, or Following (to unfollow)."""
    following = is_following(user, kind, value)
    action = reverse("people:unfollow" if following else "people:follow", args=[kind])
    return {
        FOLLOW_HOLES["action"]: escape(action).encode(),
        FOLLOW_HOLES["pressed"]: b"true" if following else b"false",
        FOLLOW_HOLES["label"]: b"Following" if following else b"Follow",
        FOLLOW_HOLES["hidden"]: b" hidden" if hidden else b"",
    }

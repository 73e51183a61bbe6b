"""Reads for discussions: a paper's thread, recent discussions, a member's comments."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Max, QuerySet

from accounts.models import User
from discussions.models import REACTIONS, Comment, Reaction
from papers.models import Paper


@dataclass(slots=True)
class Shown:
    """A comment as a thread shows it, with its reaction counts and replies."""

    comment: Comment
    reactions: dict[str, int] = field(default_factory=dict)
    replies: list[Shown] = field(default_factory=list)

    @property
    def reaction_list(self) -> list[tuple[int, str, int]]:
        """(index, emoji, count) for every emoji offered."""
        return [(i, emoji, self.reactions.get(emoji, 0)) for i, emoji in enumerate(REACTIONS)]


def thread(paper: Paper) -> list[Shown]:
    """The paper's comments, oldest first, each with its replies: two queries whatever
    their number. A deleted comment with no replies left to show is left out."""
    comments = list(
        Comment.objects.filter(paper=paper)
        .select_related("author")
        .annotate(num_revisions=Count("revisions"))
        .order_by("created_at", "id")
    )
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    if comments:
        rows = (
            Reaction.objects.filter(comment__paper=paper)
            .values_list("comment_id", "emoji")
            .annotate(n=Count("id"))
        )
        for comment_id, emoji, n in rows:
            counts[comment_id][emoji] = n
    top: dict[int, Shown] = {}
    for comment in comments:
        shown = Shown(comment, counts.get(comment.pk, {}))
        if comment.parent_id is None:
            top[comment.pk] = shown
        elif comment.parent_id in top and not comment.is_deleted:
            top[comment.parent_id].replies.append(shown)
    return [s for s in top.values() if not s.comment.is_deleted or s.replies]


def comment_by_id(comment_id: int) -> Comment | None:
    return (
        Comment.objects.select_related("paper", "author", "parent")
        .filter(pk=comment_id, paper__hidden=False)
        .first()
    )


def reaction_counts(comment: Comment) -> dict[str, int]:
    rows = Reaction.objects.filter(comment=comment).values_list("emoji").annotate(n=Count("id"))
    return dict(rows.order_by())


def reacted(user: User, comment_ids: list[int]) -> set[tuple[int, str]]:
    """(comment id, emoji) of the member's reactions among these comments."""
    rows = Reaction.objects.filter(user=user, comment_id__in=comment_ids)
    return set(rows.values_list("comment_id", "emoji"))


def recent_discussions(limit: int = 30) -> QuerySet[Paper]:
    """Papers with the newest comments first, each with the time of its newest comment."""
    return (
        Paper.objects.visible()
        .filter(comments__deleted_at=None, comments__hidden_reason="")
        .annotate(last_comment_at=Max("comments__created_at"))
        .order_by("-last_comment_at")[:limit]
    )


def member_comments(user: User, limit: int = 50) -> QuerySet[Comment]:
    """The member's own comments, newest first, with their papers."""
    return (
        Comment.objects.filter(author=user, deleted_at=None, paper__hidden=False)
        .select_related("paper")
        .order_by("-created_at")[:limit]
    )


def paper_comments_page(paper: Paper, *, page: int, size: int) -> tuple[list[Shown], int]:
    """One page of top-level comments with their replies, and how many top-level there are."""
    everything = thread(paper)
    start = (max(page, 1) - 1) * size
    return everything[start : start + size], len(everything)


def authors_participating(pairs: set[tuple[int, int]]) -> set[int]:
    """Of these (paper id, verified author's member id) pairs, the papers on which that
    author has a comment shown: Hugging Face's `isAuthorParticipating`. One query."""
    if not pairs:
        return set()
    papers = {paper for paper, _ in pairs}
    members = {member for _, member in pairs}
    found = (
        Comment.objects.shown()
        .filter(paper_id__in=papers, author_id__in=members)
        .values_list("paper_id", "author_id")
        .distinct()
    )
    return {paper for paper, member in found if (paper, member) in pairs}

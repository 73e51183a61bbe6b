"""Writes to discussions: comments and replies, edits, deletions, reactions, reports,
and staff moderation. Each keeps the paper's `comment_count` exact (the comments shown:
neither deleted nor hidden) and says what changed to the caches once it commits: the
paper's discussion at once, its card (the count) within a second."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from http import HTTPStatus

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from caching.users import member_scope
from config import metrics
from config.ratelimit import take
from config.refusals import Refused
from discussions.models import (
    REACTIONS,
    Comment,
    CommentRevision,
    HiddenReason,
    Notification,
    Reaction,
    Report,
    ReportReason,
)
from discussions.rendering import mentioned_handles, render_markdown
from papers.caching import changed
from papers.models import Paper


class CommentError(Refused):
    """A write refused; `wait`: seconds until a limit lets the member write again."""

    def __init__(self, message: str, status: int = HTTPStatus.BAD_REQUEST, wait: float = 0):
        super().__init__(message, status)
        self.wait = wait


def discussion_scope(paper: Paper) -> str:
    """The cache scope of what a paper's discussion shows."""
    return f"discussion:{paper.arxiv_id}"


def _announce(paper: Paper, *, count_changed: bool, author_id: int | None = None) -> None:
    """The paper's discussion changed (and, with `author_id`, what the member's public page
    lists of their comments)."""
    scopes = [discussion_scope(paper)]
    if author_id is not None:
        scopes.append(member_scope(author_id))
    if count_changed:  # the card shows the count: its pages follow within a second
        changed(papers=[paper], hard_scopes=scopes)
    else:
        changed(hard_scopes=scopes)


def _count(paper: Paper, delta: int) -> None:
    Paper.objects.filter(pk=paper.pk).update(
        comment_count=F("comment_count") + delta, updated_at=timezone.now()
    )


def is_new_member(user: User) -> bool:
    """Members whose account is younger than NEW_MEMBER_DAYS have stricter limits."""
    return timezone.now() - user.date_joined < timedelta(days=settings.NEW_MEMBER_DAYS)


def _check_may_write(user: User) -> None:
    if user.muted_at is not None:
        raise CommentError(
            "The moderators have muted your account: you can read and vote, not comment.",
            HTTPStatus.FORBIDDEN,
        )
    limit = (
        settings.NEW_MEMBER_COMMENTS_PER_HOUR if is_new_member(user) else settings.COMMENTS_PER_HOUR
    )
    allowed, wait = take(f"comments:member-{user.pk}", limit, 3600)
    if not allowed:
        minutes = max(1, round(wait / 60))
        raise CommentError(
            f"You have written {limit} comments this hour: try again in {minutes} min.",
            HTTPStatus.TOO_MANY_REQUESTS,
            wait,
        )


def clean_body(body: object) -> str:
    """The text of a comment as it is stored, or a CommentError saying what is wrong."""
    if not isinstance(body, str):
        raise CommentError("A comment is text.")
    body = body.replace("\r\n", "\n").strip()
    if not body:
        raise CommentError("Write something first: the comment is empty.")
    if len(body) > settings.COMMENT_MAX_CHARS:
        raise CommentError(
            f"A comment is at most {settings.COMMENT_MAX_CHARS:,} characters; "
            f"this one has {len(body):,}."
        )
    return body


def _existing_handles(body: str, *, exclude: Iterable[str] = ()) -> dict[str, User]:
    handles = mentioned_handles(body) - set(exclude)
    if not handles:
        return {}
    return {user.username: user for user in User.objects.filter(username__in=handles)}


def _notify(comment: Comment, mentioned: Iterable[User], *, reply: bool = True) -> None:
    """Notifications for the members a comment mentions and (`reply`) the author it
    replies to; never for its own author."""
    rows = {
        user.pk: Notification(recipient=user, comment=comment, kind=Notification.Kind.MENTION)
        for user in mentioned
        if user.pk != comment.author_id
    }
    if reply and comment.parent is not None and comment.parent.author_id != comment.author_id:
        rows.setdefault(
            comment.parent.author_id,
            Notification(
                recipient_id=comment.parent.author_id,
                comment=comment,
                kind=Notification.Kind.REPLY,
            ),
        )
    if rows:
        Notification.objects.bulk_create(rows.values(), ignore_conflicts=True)


def comment_post(
    *, user: User, paper: Paper, body: object, parent: Comment | None = None
) -> Comment:
    """A new comment on the paper, or a reply (to a reply: to the comment it is under)."""
    body = clean_body(body)
    if parent is not None:
        if parent.paper_id != paper.pk:
            raise CommentError("That comment is under another paper.", HTTPStatus.NOT_FOUND)
        if parent.parent_id is not None:  # one level of replies, as on huggingface.co
            parent = parent.parent
        assert parent is not None
        if not parent.is_shown:
            raise CommentError("That comment was removed: it takes no more replies.")
    _check_may_write(user)
    mentioned = _existing_handles(body)
    with transaction.atomic():
        comment = Comment.objects.create(
            paper=paper,
            author=user,
            parent=parent,
            body=body,
            html=render_markdown(body, handles=mentioned),
        )
        _count(paper, +1)
        _notify(comment, mentioned.values())
        _announce(paper, count_changed=True, author_id=user.pk)
    metrics.COMMENTS.inc()
    return comment


def _check_author(user: User, comment: Comment) -> None:
    if comment.author_id != user.pk:
        raise CommentError("Only its author can change a comment.", HTTPStatus.FORBIDDEN)
    if comment.is_deleted:
        raise CommentError("This comment was deleted.", HTTPStatus.CONFLICT)
    if comment.is_hidden:
        raise CommentError("The moderators hid this comment.", HTTPStatus.CONFLICT)


def comment_edit(*, user: User, comment: Comment, body: object) -> Comment:
    """The author's new text; the old one is kept as a revision, and newly mentioned
    members are notified."""
    body = clean_body(body)
    _check_author(user, comment)
    if body == comment.body:
        return comment
    if user.muted_at is not None:
        _check_may_write(user)
    before = set(mentioned_handles(comment.body))
    mentioned = _existing_handles(body)
    now = timezone.now()
    with transaction.atomic():
        CommentRevision.objects.create(
            comment=comment, body=comment.body, written_at=comment.edited_at or comment.created_at
        )
        comment.body = body
        comment.html = render_markdown(body, handles=mentioned)
        comment.edited_at = now
        comment.save(update_fields=["body", "html", "edited_at", "updated_at"])
        new = [u for handle, u in mentioned.items() if handle not in before]
        _notify(comment, new, reply=False)  # the reply was notified when it was posted
        _announce(comment.paper, count_changed=False, author_id=comment.author_id)
    return comment


def comment_delete(*, user: User, comment: Comment) -> Comment:
    """The author deletes their comment: its text goes (staff keep it in the history), a
    placeholder keeps its replies readable."""
    _check_author(user, comment)
    with transaction.atomic():
        CommentRevision.objects.create(
            comment=comment, body=comment.body, written_at=comment.edited_at or comment.created_at
        )
        comment.deleted_at = timezone.now()
        comment.body = ""
        comment.html = ""
        comment.save(update_fields=["deleted_at", "body", "html", "updated_at"])
        _count(comment.paper, -1)
        _announce(comment.paper, count_changed=True, author_id=comment.author_id)
    return comment


@dataclass(frozen=True, slots=True)
class ReactionState:
    emoji: str
    reacted: bool
    count: int


def comment_react(
    *, user: User, comment: Comment, emoji: str, on: bool | None = None
) -> ReactionState:
    """Add (`on`), take back (not `on`) or toggle (None) the member's reaction."""
    if emoji not in REACTIONS:
        raise CommentError(f"Reactions are {' '.join(REACTIONS)}.")
    if not comment.is_shown:
        raise CommentError("This comment was removed.", HTTPStatus.CONFLICT)
    allowed, wait = take(f"reactions:member-{user.pk}", settings.REACTIONS_PER_HOUR, 3600)
    if not allowed:
        raise CommentError("Too many reactions this hour.", HTTPStatus.TOO_MANY_REQUESTS, wait)
    mine = Reaction.objects.filter(comment=comment, user=user, emoji=emoji)
    with transaction.atomic():
        if on is None:
            on = not mine.exists()
        if on:
            try:
                with transaction.atomic():
                    Reaction.objects.create(comment=comment, user=user, emoji=emoji)
            except IntegrityError:
                pass  # already there: idempotent
        else:
            mine.delete()
        Comment.objects.filter(pk=comment.pk).update(updated_at=timezone.now())
        _announce(comment.paper, count_changed=False)
    count = Reaction.objects.filter(comment=comment, emoji=emoji).count()
    return ReactionState(emoji, on, count)


def comment_report(*, user: User, comment: Comment, reason: str, note: str = "") -> Report:
    """A member reports a comment to staff (once per comment; a second report updates it)."""
    if reason not in ReportReason.values:
        raise CommentError("Choose a reason for the report.")
    if comment.author_id == user.pk:
        raise CommentError("You cannot report your own comment.")
    allowed, wait = take(f"reports:member-{user.pk}", settings.REPORTS_PER_HOUR, 3600)
    if not allowed:
        raise CommentError("Too many reports this hour.", HTTPStatus.TOO_MANY_REQUESTS, wait)
    report, _ = Report.objects.update_or_create(
        comment=comment,
        reporter=user,
        defaults={"reason": reason, "note": note.strip()[:1000], "resolved_at": None},
    )
    return report


def comments_hide(*, staff: User, comments: Iterable[Comment], reason: str) -> int:
    """Staff hide comments with a reason (shown in their place); their reports are
    resolved. Returns how many were hidden."""
    if reason not in HiddenReason.values:
        raise CommentError("Choose a reason to hide the comment.")
    hidden = 0
    now = timezone.now()
    with transaction.atomic():
        for comment in comments:
            was_shown = comment.is_shown
            comment.hidden_reason = reason
            comment.hidden_at = now
            comment.hidden_by = staff
            comment.save(update_fields=["hidden_reason", "hidden_at", "hidden_by", "updated_at"])
            Report.objects.filter(comment=comment, resolved_at=None).update(
                resolved_at=now, resolved_by=staff
            )
            if was_shown:
                _count(comment.paper, -1)
            _announce(comment.paper, count_changed=was_shown, author_id=comment.author_id)
            hidden += 1
    return hidden


def comments_unhide(*, comments: Iterable[Comment]) -> int:
    shown = 0
    with transaction.atomic():
        for comment in comments:
            if not comment.is_hidden:
                continue
            comment.hidden_reason = ""
            comment.hidden_at = None
            comment.hidden_by = None
            comment.save(update_fields=["hidden_reason", "hidden_at", "hidden_by", "updated_at"])
            if not comment.is_deleted:
                _count(comment.paper, +1)
            _announce(
                comment.paper, count_changed=not comment.is_deleted, author_id=comment.author_id
            )
            shown += 1
    return shown

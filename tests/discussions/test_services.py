"""Comments, replies, edits, deletions, reactions, reports and moderation, with the
paper's count kept exact."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from discussions.models import Comment, CommentRevision, Notification, Reaction, Report
from discussions.services import (
    CommentError,
    comment_delete,
    comment_edit,
    comment_post,
    comment_react,
    comment_report,
    comments_hide,
    comments_unhide,
)
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def paper():
    return PaperFactory()


def count(paper) -> int:
    paper.refresh_from_db()
    return paper.comment_count


def test_comments_and_replies_keep_the_count_exact(alice, bob, paper, commit):
    first = commit(lambda: comment_post(user=alice, paper=paper, body="A question"))
    reply = commit(lambda: comment_post(user=bob, paper=paper, body="An answer", parent=first))
    # A reply to a reply goes under the comment: one level, as on huggingface.co.
    again = commit(lambda: comment_post(user=alice, paper=paper, body="Thanks", parent=reply))
    assert again.parent == first
    assert count(paper) == 3
    commit(lambda: comment_delete(user=bob, comment=reply))
    assert count(paper) == 2
    commit(lambda: comments_hide(staff=bob, comments=[first], reason="spam"))
    assert count(paper) == 1
    commit(lambda: comments_unhide(comments=[Comment.objects.get(pk=first.pk)]))
    assert count(paper) == 2
    assert count(paper) == Comment.objects.shown().filter(paper=paper).count()


def test_an_edit_keeps_the_history_and_marks_the_comment(alice, paper, commit):
    comment = commit(lambda: comment_post(user=alice, paper=paper, body="First *take*"))
    commit(lambda: comment_edit(user=alice, comment=comment, body="Second take"))
    comment.refresh_from_db()
    assert comment.edited_at is not None
    assert comment.html == "<p>Second take</p>"
    assert list(CommentRevision.objects.values_list("body", flat=True)) == ["First *take*"]


def test_only_the_author_edits_or_deletes(alice, bob, paper, commit):
    comment = commit(lambda: comment_post(user=alice, paper=paper, body="Mine"))
    with pytest.raises(CommentError, match="Only its author"):
        comment_edit(user=bob, comment=comment, body="Yours now")
    with pytest.raises(CommentError, match="Only its author"):
        comment_delete(user=bob, comment=comment)
    assert Comment.objects.get(pk=comment.pk).body == "Mine"


def test_a_deleted_comment_loses_its_text_and_keeps_it_for_staff(alice, paper, commit):
    comment = commit(lambda: comment_post(user=alice, paper=paper, body="Regret"))
    commit(lambda: comment_delete(user=alice, comment=comment))
    comment.refresh_from_db()
    assert comment.is_deleted
    assert comment.body == ""
    assert comment.html == ""
    assert CommentRevision.objects.get(comment=comment).body == "Regret"


@pytest.mark.parametrize("body", ["", "   \n ", None, 12])
def test_an_empty_comment_is_refused(alice, paper, body):
    with pytest.raises(CommentError):
        comment_post(user=alice, paper=paper, body=body)
    assert not Comment.objects.exists()


def test_an_over_long_comment_gets_a_clear_error_and_nothing_is_stored(alice, paper, settings):
    with pytest.raises(CommentError, match="at most 10,000 characters; this one has 102,400"):
        comment_post(user=alice, paper=paper, body="x" * 102_400)
    assert not Comment.objects.exists()
    assert count(paper) == 0


def test_hostile_text_is_stored_as_written(alice, paper, commit):
    body = '<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror="alert(1)">'
    comment = commit(lambda: comment_post(user=alice, paper=paper, body=body))
    comment.refresh_from_db()
    assert comment.body == body
    assert "<script" not in comment.html
    assert "href" not in comment.html  # the link is refused: its text stays, inert


def test_reactions_toggle_one_of_each_per_member(alice, bob, paper, commit):
    comment = commit(lambda: comment_post(user=alice, paper=paper, body="Nice"))
    assert comment_react(user=bob, comment=comment, emoji="🔥").count == 1
    assert comment_react(user=bob, comment=comment, emoji="🔥", on=True).count == 1
    assert comment_react(user=alice, comment=comment, emoji="🔥").count == 2
    state = comment_react(user=bob, comment=comment, emoji="🔥")
    assert (state.reacted, state.count) == (False, 1)
    with pytest.raises(CommentError, match="Reactions are"):
        comment_react(user=bob, comment=comment, emoji="💩")
    assert Reaction.objects.count() == 1


def test_muted_members_cannot_comment(alice, paper):
    alice.muted_at = timezone.now()
    alice.save()
    with pytest.raises(CommentError, match="muted") as caught:
        comment_post(user=alice, paper=paper, body="Let me in")
    assert caught.value.status == 403


def test_new_accounts_have_a_stricter_rate_than_established_ones(
    alice, bob, paper, settings, commit
):
    settings.NEW_MEMBER_COMMENTS_PER_HOUR = 2
    settings.COMMENTS_PER_HOUR = 4
    bob.date_joined = timezone.now() - timedelta(days=settings.NEW_MEMBER_DAYS + 1)
    bob.save()
    for i in range(2):
        commit(lambda i=i: comment_post(user=alice, paper=paper, body=f"new {i}"))
    with pytest.raises(CommentError, match="2 comments this hour") as caught:
        comment_post(user=alice, paper=paper, body="one more")
    assert caught.value.status == 429
    assert caught.value.wait > 0
    for i in range(4):
        commit(lambda i=i: comment_post(user=bob, paper=paper, body=f"old {i}"))
    with pytest.raises(CommentError, match="4 comments this hour"):
        comment_post(user=bob, paper=paper, body="one more")


def test_mentions_and_replies_make_one_notification_each(alice, bob, staff, paper, commit):
    question = commit(lambda: comment_post(user=alice, paper=paper, body="@bob @staff @alice?"))
    kinds = dict(Notification.objects.values_list("recipient__username", "kind"))
    assert kinds == {"bob": "mention", "staff": "mention"}  # never yourself
    commit(lambda: comment_post(user=bob, paper=paper, body="@alice yes", parent=question))
    assert Notification.objects.filter(recipient=alice).count() == 1  # mention and reply: one


def test_reports_reach_the_queue_and_hiding_resolves_them(alice, bob, staff, paper, commit):
    comment = commit(lambda: comment_post(user=alice, paper=paper, body="Buy pills"))
    comment_report(user=bob, comment=comment, reason="spam", note="an ad")
    comment_report(user=bob, comment=comment, reason="spam")  # once per member
    assert Report.objects.filter(resolved_at=None).count() == 1
    with pytest.raises(CommentError):
        comment_report(user=alice, comment=comment, reason="spam")
    commit(lambda: comments_hide(staff=staff, comments=[comment], reason="spam"))
    assert Report.objects.filter(resolved_at=None).count() == 0
    with pytest.raises(CommentError, match="removed"):
        comment_post(user=bob, paper=paper, body="reply", parent=comment)

"""The discussion on the paper page: in place with htmx and as plain forms, cached like
the rest of the page, at a constant number of queries."""

from __future__ import annotations

import datetime as dt
import re
from http import HTTPStatus

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.signals import template_rendered
from django.test.utils import CaptureQueriesContext

from caching import store
from discussions.models import Comment, Report
from discussions.services import comment_post, comment_react
from papers import vectors
from tests.factories import CommentFactory, PaperFactory, UserFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def member(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(client: Client, paper) -> str:
    response = client.get(f"/papers/{paper.arxiv_id}")
    assert response.status_code == HTTPStatus.OK
    return response.content.decode()


def comment_block(html: str, comment_id: int) -> str:
    start = html.index(f'id="comment-{comment_id}"')
    return html[start : html.index("</article>", start)]


@pytest.fixture
def paper():
    return PaperFactory(title="Sparse attention for long documents")


def test_a_member_comments_without_javascript_and_sees_it_at_once(alice, paper, commit):
    client = member(alice)
    page(client, paper)  # cached before
    response = commit(
        lambda: client.post(f"/papers/{paper.arxiv_id}/comments", {"body": "Is the code *out*?"})
    )
    comment = Comment.objects.get()
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == f"/papers/{paper.arxiv_id}#comment-{comment.pk}"
    html = page(client, paper)
    assert "Is the code <em>out</em>?" in html
    assert 'Discussion <span class="count">(1)</span>' in html
    assert "Is the code <em>out</em>?" in page(Client(), paper)  # visitors too


def test_with_htmx_the_discussion_is_swapped_in_place(alice, paper):
    response = member(alice).post(
        f"/papers/{paper.arxiv_id}/comments", {"body": "In place"}, **HTMX
    )
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert html.startswith('<section class="discussion" id="discussion"')
    assert "<p>In place</p>" in html
    assert "csrfmiddlewaretoken" in html
    assert "\x00" not in html


def test_an_error_keeps_the_draft_with_and_without_javascript(alice, paper, settings):
    settings.COMMENT_MAX_CHARS = 20
    client = member(alice)
    draft = "A long thought that must not be lost"
    response = client.post(f"/papers/{paper.arxiv_id}/comments", {"body": draft}, **HTMX)
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert response["HX-Retarget"] == "#error-new"  # the form and its draft stay as they are
    assert "at most 20 characters" in response.content.decode()
    response = client.post(f"/papers/{paper.arxiv_id}/comments", {"body": draft})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert draft in response.content.decode()  # shown again, ready to shorten
    assert not Comment.objects.exists()


def test_visitors_read_and_are_asked_to_sign_in(alice, paper, commit):
    commit(lambda: comment_post(user=alice, paper=paper, body="Hello"))
    html = page(Client(), paper)
    assert "<p>Hello</p>" in html
    assert "Sign in</a> to comment" in html
    assert "comment-form" not in html
    assert "csrfmiddlewaretoken" not in html


def test_only_the_author_sees_their_edit_and_delete_controls(alice, bob, paper, commit):
    comment = commit(lambda: comment_post(user=alice, paper=paper, body="Mine"))
    alices = comment_block(page(member(alice), paper), comment.pk)
    bobs = comment_block(page(member(bob), paper), comment.pk)
    assert '<span class="own-actions">' in alices
    assert '<span class="own-actions" hidden>' in bobs
    assert "Report" in bobs


def test_each_member_sees_their_own_reactions(alice, bob, paper, commit):
    comment = commit(lambda: comment_post(user=alice, paper=paper, body="Nice"))
    commit(lambda: comment_react(user=bob, comment=comment, emoji="🔥"))
    fire = re.compile(r'value="🔥" class="reaction" aria-pressed="(\w+)"')
    assert fire.search(page(member(bob), paper))[1] == "true"
    assert fire.search(page(member(alice), paper))[1] == "false"
    assert '<span class="reaction">🔥 <span class="count">1</span></span>' in page(Client(), paper)


def test_reply_edit_react_and_delete_as_plain_forms(alice, bob, paper, commit):
    alices, bobs = member(alice), member(bob)
    alices.post(f"/papers/{paper.arxiv_id}/comments", {"body": "Question"})
    question = Comment.objects.get()
    bobs.post(f"/comments/{question.pk}/reply", {"body": "Answer @alice"})
    answer = Comment.objects.exclude(pk=question.pk).get()
    assert answer.parent == question
    assert 'class="mention"' in answer.html
    edit = alices.get(f"/comments/{question.pk}/edit")
    assert "Question</textarea>" in edit.content.decode()
    assert bobs.get(f"/comments/{question.pk}/edit").status_code == HTTPStatus.NOT_FOUND
    alices.post(f"/comments/{question.pk}/edit", {"body": "Better question"})
    assert "Your reply" in bobs.get(f"/comments/{question.pk}/reply").content.decode()
    picker = bobs.get(f"/comments/{question.pk}/react").content.decode()
    assert picker.count('class="reaction"') == 6
    assert "Delete this comment?" in alices.get(f"/comments/{question.pk}/delete").content.decode()
    assert bobs.get(f"/comments/{question.pk}/delete").status_code == HTTPStatus.NOT_FOUND
    alices.post(f"/comments/{answer.pk}/react", {"emoji": "👍"})
    commit(lambda: alices.post(f"/comments/{question.pk}/delete"))
    html = page(bobs, paper)
    assert "This comment was deleted." in html  # the placeholder keeps the reply readable
    assert "Better question" not in html
    assert 'aria-label="👍 1: react"' in comment_block(html, answer.pk)
    paper.refresh_from_db()
    assert paper.comment_count == 1


def test_edited_comments_are_marked(alice, paper, commit):
    client = member(alice)
    commit(lambda: client.post(f"/papers/{paper.arxiv_id}/comments", {"body": "v1"}))
    comment = Comment.objects.get()
    assert "edited</span>" not in comment_block(page(Client(), paper), comment.pk)
    commit(lambda: client.post(f"/comments/{comment.pk}/edit", {"body": "v2"}))
    assert "edited</span>" in comment_block(page(Client(), paper), comment.pk)


def test_a_report_goes_to_the_admin_queue(alice, bob, staff, paper, commit):
    comment = commit(lambda: comment_post(user=alice, paper=paper, body="Spam spam"))
    form = member(bob).get(f"/comments/{comment.pk}/report")
    assert "What is wrong with it?" in form.content.decode()
    member(bob).post(f"/comments/{comment.pk}/report", {"reason": "spam", "note": "ad"})
    assert Report.objects.get().reporter == bob
    queue = member(staff).get("/admin/discussions/report/")
    assert "Spam spam" in queue.content.decode()


def test_staff_hide_a_comment_with_a_reason_and_it_collapses(alice, staff, paper, commit):
    comment = commit(lambda: comment_post(user=alice, paper=paper, body="Rude words"))
    page(Client(), paper)
    response = commit(
        lambda: member(staff).post(
            "/admin/discussions/comment/",
            {"action": "hide_abuse", "_selected_action": [comment.pk]},
        )
    )
    assert response.status_code == HTTPStatus.FOUND
    html = page(Client(), paper)
    assert "Rude words" not in html
    assert "hidden by the moderators: Abuse." in html


def test_staff_mute_a_member_who_then_cannot_comment(alice, staff, paper):
    member(staff).post("/admin/accounts/user/", {"action": "mute", "_selected_action": [alice.pk]})
    response = member(alice).post(f"/papers/{paper.arxiv_id}/comments", {"body": "Hi"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "muted" in response.content.decode()


def test_a_page_with_500_comments_costs_as_many_queries_as_one_with_5(alice, bob):
    # No word in common: neither is the other's related paper, on any database.
    small = PaperFactory(title="Zebra herds migrate by season", abstract="Savanna grazing.")
    big = PaperFactory(title="Quantum tunnelling in crystals", abstract="Lattice defects.")
    authors = [UserFactory() for _ in range(20)]
    for paper, n in ((small, 5), (big, 500)):
        tops = [CommentFactory(paper=paper, author=authors[i % 20]) for i in range(n // 2)]
        for i in range(n - len(tops)):
            CommentFactory(paper=paper, author=authors[i % 20], parent=tops[i % len(tops)])
        comment_react(user=bob, comment=tops[0], emoji="👀")
    queries = {}
    client = member(alice)
    vectors.index()  # read once per process, not per page
    for paper in (small, big):
        cache.clear()
        store.forget()  # both built from nothing: every read of the page is counted
        with CaptureQueriesContext(connection) as captured:
            html = page(client, paper)
        queries[paper.pk] = len(captured)
    assert html.count('class="comment') >= 500
    assert queries[small.pk] == queries[big.pk]


def test_a_comment_rebuilds_only_its_papers_card(alice, commit):
    a = PaperFactory(listed_on=dt.date(2026, 6, 10), title="Quantum tunnelling in crystals")
    b = PaperFactory(listed_on=dt.date(2026, 6, 10), title="Zebra herds migrate by season")
    c = PaperFactory(listed_on=dt.date(2026, 6, 11), title="Volcanic ash and jet engines")
    visitor = Client()
    for url in ("/papers/date/2026-06-10", "/papers/date/2026-06-11", f"/papers/{c.arxiv_id}"):
        page_ok = visitor.get(url)
        assert page_ok.status_code == HTTPStatus.OK

    rendered: list[str] = []

    def record(sender, template, context, **kwargs):
        if template.name == "includes/paper_card.html":
            rendered.append(context["paper"].arxiv_id)

    commit(lambda: comment_post(user=alice, paper=a, body="Comment on a"))
    template_rendered.connect(record)
    try:
        with CaptureQueriesContext(connection) as other_pages:
            visitor.get("/papers/date/2026-06-11")
            visitor.get(f"/papers/{c.arxiv_id}")
        its_day = visitor.get("/papers/date/2026-06-10").content.decode()
    finally:
        template_rendered.disconnect(record)
    assert len(other_pages) == 0  # pages that do not show `a` are served as they were
    assert rendered == [a.arxiv_id]  # its day is rebuilt from b's kept card and a new one
    assert b.arxiv_id in its_day
    assert '1<span class="visually-hidden"> comment</span>' in its_day  # a's card counts it


def test_recent_discussions_and_the_discussion_feed(alice, paper, commit):
    quiet = PaperFactory()
    commit(lambda: comment_post(user=alice, paper=paper, body="First <b>words</b>"))
    recent = Client().get("/discussions").content.decode()
    assert paper.title in recent
    assert quiet.title not in recent
    feed = Client().get(f"/papers/{paper.arxiv_id}/discussion.atom")
    assert feed.status_code == HTTPStatus.OK
    text = feed.content.decode()
    assert "<entry>" in text
    assert "First &lt;b&gt;words&lt;/b&gt;" in text.replace("&amp;", "&")


def test_members_see_their_comments_on_their_profile_and_public_page(alice, paper, commit):
    commit(lambda: comment_post(user=alice, paper=paper, body="On my profile"))
    assert "On my profile" in member(alice).get("/accounts/profile/").content.decode()
    public = Client().get(f"/u/{alice.username}")
    assert "On my profile" in public.content.decode()
    assert alice.email not in public.content.decode()
    assert Client().get("/u/nobody-here").status_code == HTTPStatus.NOT_FOUND

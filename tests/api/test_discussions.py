"""The discussion API: Hugging Face's comment shapes, read by huggingface_hub's own
parser, and our reads, edits, deletions and reactions."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.test import Client
from huggingface_hub.community import DiscussionComment, deserialize_event

from accounts.services import api_token_create
from discussions.models import Comment
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def paper():
    return PaperFactory()


def api(user) -> Client:
    token = api_token_create(user=user, name="bot").plaintext
    return Client(headers={"Authorization": f"Bearer {token}"})


def test_comment_and_reply_in_hugging_faces_shape(alice, bob, paper):
    response = api(alice).post(
        f"/api/papers/{paper.arxiv_id}/comment",
        {"comment": "What about $O(n)$ memory?"},
        content_type="application/json",
    )
    assert response.status_code == HTTPStatus.OK
    event = deserialize_event(response.json()["newMessage"])
    assert isinstance(event, DiscussionComment)
    assert event.content == "What about $O(n)$ memory?"
    assert event.author == "alice"
    assert not event.edited
    reply = api(bob).post(
        f"/api/papers/{paper.arxiv_id}/comment/{event.id}/reply",
        {"comment": "Linear."},
        content_type="application/json",
    )
    assert reply.status_code == HTTPStatus.OK
    assert Comment.objects.get(pk=reply.json()["newMessage"]["id"]).parent_id == int(event.id)
    listing = Client().get(f"/api/papers/{paper.arxiv_id}/comments").json()
    assert listing["numComments"] == 2
    assert [c["data"]["latest"]["raw"] for c in listing["comments"]] == [event.content]
    assert listing["comments"][0]["replies"][0]["data"]["latest"]["raw"] == "Linear."
    info = Client().get(f"/api/papers/{paper.arxiv_id}").json()
    assert info["numComments"] == 2


def test_edit_delete_and_react(alice, bob, paper):
    alices = api(alice)
    created = alices.post(
        f"/api/papers/{paper.arxiv_id}/comment", {"comment": "v1"}, content_type="application/json"
    ).json()["newMessage"]
    url = f"/api/papers/{paper.arxiv_id}/comment/{created['id']}"
    edited = alices.patch(url, {"comment": "v2"}, content_type="application/json").json()
    assert edited["data"]["edited"] is True
    assert edited["data"]["numEdits"] == 1
    assert (
        api(bob).patch(url, {"comment": "mine"}, content_type="application/json").status_code == 403
    )
    reacted = api(bob).post(f"{url}/react", {"reaction": "🚀"}, content_type="application/json")
    assert reacted.json() == {"reaction": "🚀", "reacted": True, "count": 1}
    bad = api(bob).post(f"{url}/react", {"reaction": "x"}, content_type="application/json")
    assert bad.status_code == HTTPStatus.BAD_REQUEST
    assert alices.delete(url).status_code == HTTPStatus.NO_CONTENT
    listing = Client().get(f"/api/papers/{paper.arxiv_id}/comments").json()
    assert listing["numComments"] == 0
    assert listing["comments"] == []  # deleted, with no reply to keep


def test_writes_need_a_member_and_give_clear_errors(alice, paper, settings):
    url = f"/api/papers/{paper.arxiv_id}/comment"
    assert Client().post(url, {"comment": "hi"}, content_type="application/json").status_code == 401
    too_long = api(alice).post(
        url, {"comment": "x" * (settings.COMMENT_MAX_CHARS + 1)}, content_type="application/json"
    )
    assert too_long.status_code == HTTPStatus.BAD_REQUEST
    assert "at most 10,000 characters" in too_long.json()["error"]
    missing = api(alice).post(
        "/api/papers/2612.99999/comment", {"comment": "hi"}, content_type="application/json"
    )
    assert missing.status_code == HTTPStatus.NOT_FOUND
    no_field = api(alice).post(url, {}, content_type="application/json")
    assert no_field.status_code == HTTPStatus.BAD_REQUEST


def test_hidden_comments_come_with_their_reason_and_no_text(alice, staff, paper, commit):
    from discussions.services import comment_post, comments_hide

    comment = commit(lambda: comment_post(user=alice, paper=paper, body="Spam link"))
    commit(lambda: comments_hide(staff=staff, comments=[comment], reason="spam"))
    listing = Client().get(f"/api/papers/{paper.arxiv_id}/comments").json()
    data = listing["comments"][0]["data"]
    assert data["hidden"] is True
    assert data["hiddenReason"] == "Spam"
    assert data["latest"]["raw"] == ""

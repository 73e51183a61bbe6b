"""Collection, author and public member pages are kept by the caching layer: a repeated
read costs no more than finding what the URL names, a write shows on the next read of the
pages that show it, and never rebuilds pages that do not."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from discussions.services import comment_post
from papers.claims import decide_claim
from papers.models import AuthorClaim
from readinglists.services import collection_create, collection_update, item_add
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db


def member(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(collection) -> str:
    return reverse("readinglists:detail", args=[collection.owner.username, collection.slug])


@pytest.fixture
def papers():
    return [
        PaperFactory(title=f"Paper number {i}", authors=[{"name": "Grace Hopper"}])
        for i in range(3)
    ]


def test_a_collection_page_is_read_once_and_rebuilt_only_when_it_changes(
    alice, bob, papers, commit, django_assert_max_num_queries
):
    reading = collection_create(owner=alice, name="Reading club", visibility="public")
    other = collection_create(owner=alice, name="Other", visibility="unlisted")
    item_add(user=alice, collection=reading, paper=papers[0])
    item_add(user=alice, collection=other, paper=papers[1])
    visitor, reader = Client(), member(bob)
    paper_url = reverse("papers:paper", args=[papers[2].arxiv_id])
    # Twice: an announcement that lands while a page is built (the pub/sub listener of the
    # shared cache) leaves it doubtful, and the next read builds it again.
    for _ in range(2):
        for client in (visitor, reader):
            client.get(url(reading))
            client.get(url(other))
            client.get(paper_url)

    # Finding the collection, nothing more (and for a member, whether they edit it).
    for client, queries in ((visitor, 1), (reader, 2)):
        with django_assert_max_num_queries(queries):
            assert "Paper number 0" in client.get(url(reading)).content.decode()

    commit(lambda: item_add(user=alice, collection=reading, paper=papers[2]))

    assert "Paper number 2" in visitor.get(url(reading)).content.decode()
    assert "Paper number 2" in reader.get(url(reading)).content.decode()
    for client, queries in ((visitor, 1), (reader, 2)):  # pages not showing it are kept
        with django_assert_max_num_queries(queries):
            client.get(url(other))
        with django_assert_max_num_queries(0):
            client.get(paper_url)


def test_editors_get_the_controls_and_readers_never_do(alice, bob, papers, commit):
    reading = collection_create(owner=alice, name="Reading club", visibility="public")
    item_add(user=alice, collection=reading, paper=papers[0])
    owner = member(alice)
    assert "Delete this collection" in owner.get(url(reading)).content.decode()
    for client in (Client(), member(bob)):
        assert "Delete this collection" not in client.get(url(reading)).content.decode()
    assert "Delete this collection" in owner.get(url(reading)).content.decode()

    commit(
        lambda: collection_update(
            user=alice,
            collection=reading,
            name="Reading club",
            description="",
            visibility="private",
        )
    )
    assert Client().get(url(reading)).status_code == 404  # the kept public copy is not served
    assert member(bob).get(url(reading)).status_code == 404


def test_an_author_page_is_kept_and_its_follow_button_is_each_members_own(
    alice, bob, papers, django_assert_max_num_queries
):
    author_url = reverse("papers:author", args=["Grace Hopper"])
    alice_client, bob_client, visitor = member(alice), member(bob), Client()
    alice_client.post(reverse("people:follow", args=["author"]), {"value": "Grace Hopper"})
    for _ in range(2):  # as above: a page built while an announcement lands is rebuilt once
        for client in (visitor, alice_client, bob_client):
            client.get(author_url)

    with django_assert_max_num_queries(0):
        page = visitor.get(author_url).content.decode()
    assert "follow-form" not in page
    with django_assert_max_num_queries(1):  # whether she follows
        assert 'aria-pressed="true"' in alice_client.get(author_url).content.decode()
    assert 'aria-pressed="false"' in bob_client.get(author_url).content.decode()


def test_a_member_page_shows_a_new_comment_a_verified_paper_and_hides_their_own_button(
    alice, bob, staff, papers, commit, django_assert_max_num_queries
):
    page_url = reverse("people:member", args=["alice"])
    visitor = Client()
    visitor.get(page_url)
    visitor.get(page_url)  # as above: a page built while an announcement lands is rebuilt once
    with django_assert_max_num_queries(1):  # finding the member
        visitor.get(page_url)

    commit(lambda: comment_post(user=alice, paper=papers[1], body="A note on the proofs."))
    assert "A note on the proofs." in visitor.get(page_url).content.decode()

    claim = AuthorClaim.objects.create(
        paper=papers[2], author_index=0, author_name="Grace Hopper", user=alice
    )
    assert "Papers authored" not in visitor.get(page_url).content.decode()
    commit(lambda: decide_claim(claim=claim, approve=True, reason="", by=staff))
    assert "Papers authored" in visitor.get(page_url).content.decode()

    commit(lambda: collection_create(owner=alice, name="Weekly reading", visibility="public"))
    assert "Weekly reading" in visitor.get(page_url).content.decode()

    assert 'follow-form" hidden' in member(alice).get(page_url).content.decode()
    assert 'follow-form">' in member(bob).get(page_url).content.decode()

"""Collections: who may see and change them, ordering, notes, saving from any paper."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.test import Client

from readinglists.models import Collection
from readinglists.services import (
    CollectionError,
    collection_create,
    collection_delete,
    editor_invite,
    item_add,
    item_move,
)
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db


def member(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(collection: Collection) -> str:
    return f"/collections/{collection.owner.username}/{collection.slug}"


@pytest.fixture
def papers():
    return [PaperFactory(title=f"Paper number {i}") for i in range(3)]


def order(collection: Collection) -> list[str]:
    return list(collection.items.values_list("paper__title", flat=True))


def test_a_member_saves_papers_reorders_them_and_notes_one(alice, papers):
    client = member(alice)
    client.post(f"/papers/{papers[0].arxiv_id}/save", {"new_name": "Week 24 reading"})
    collection = Collection.objects.get()
    assert (collection.slug, collection.visibility) == ("week-24-reading", "private")
    for paper in papers[1:]:
        client.post(f"/papers/{paper.arxiv_id}/save", {"collection": collection.pk})
    client.post(f"/papers/{papers[1].arxiv_id}/save", {"collection": collection.pk})  # once
    assert order(collection) == ["Paper number 0", "Paper number 1", "Paper number 2"]
    client.post(f"{url(collection)}/items/{papers[2].arxiv_id}/up")
    client.post(f"{url(collection)}/items/{papers[0].arxiv_id}/down")
    assert order(collection) == ["Paper number 2", "Paper number 0", "Paper number 1"]
    client.post(f"{url(collection)}/items/{papers[1].arxiv_id}/note", {"note": "Read §3 first"})
    page = client.get(url(collection)).content.decode()
    assert "Read §3 first" in page
    assert page.index("Paper number 2") < page.index("Paper number 0")
    picker = client.get(f"/papers/{papers[0].arxiv_id}/save").content.decode()
    assert 'aria-pressed="true">✓ Week 24 reading' in picker
    client.post(
        f"/papers/{papers[0].arxiv_id}/save", {"collection": collection.pk, "action": "remove"}
    )
    assert collection.items.count() == 2


def test_private_collections_are_a_404_to_others_and_public_ones_are_listed(alice, bob, papers):
    private = collection_create(owner=alice, name="Mine only")
    shared = collection_create(owner=alice, name="Club list", visibility="public")
    unlisted = collection_create(owner=alice, name="By link", visibility="unlisted")
    for collection in (private, shared, unlisted):
        item_add(user=alice, collection=collection, paper=papers[0])
    for client in (Client(), member(bob)):
        assert client.get(url(private)).status_code == HTTPStatus.NOT_FOUND
        assert client.get(f"{url(private)}/feed.atom").status_code == HTTPStatus.NOT_FOUND
        assert client.get(url(shared)).status_code == HTTPStatus.OK
        assert client.get(url(unlisted)).status_code == HTTPStatus.OK
    assert member(alice).get(url(private)).status_code == HTTPStatus.OK
    profile = Client().get(f"/u/{alice.username}").content.decode()
    assert "Club list" in profile
    assert "Mine only" not in profile
    assert "By link" not in profile
    feed = Client().get(f"{url(shared)}/feed.atom").content.decode()
    assert "Paper number 0" in feed


def test_only_the_owner_and_editors_change_a_collection(alice, bob, django_user_model, papers):
    carol = django_user_model.objects.create_user("carol", "carol@example.org", "pw-carol-123!")
    collection = collection_create(owner=alice, name="Club", visibility="public")
    with pytest.raises(CollectionError):
        item_add(user=bob, collection=collection, paper=papers[0])
    response = member(bob).post(f"{url(collection)}/edit", {"name": "Taken over"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    editor_invite(user=alice, collection=collection, handle="bob")
    item_add(user=bob, collection=collection, paper=papers[0])
    item_add(user=bob, collection=collection, paper=papers[1])
    item_move(user=bob, collection=collection, paper=papers[1], offset=-1)
    assert order(collection) == ["Paper number 1", "Paper number 0"]
    member(bob).post(f"{url(collection)}/edit", {"name": "Club, week 2"})
    collection.refresh_from_db()
    assert collection.name == "Club, week 2"
    # An editor may not delete it, make it private, or invite others.
    with pytest.raises(CollectionError):
        collection_delete(user=bob, collection=collection)
    assert member(bob).post(f"{url(collection)}/delete").status_code == HTTPStatus.FORBIDDEN
    member(bob).post(f"{url(collection)}/edit", {"name": "Club", "visibility": "private"})
    collection.refresh_from_db()
    assert collection.visibility == "public"
    with pytest.raises(CollectionError):
        editor_invite(user=bob, collection=collection, handle="carol")
    with pytest.raises(CollectionError):
        item_add(user=carol, collection=collection, paper=papers[2])
    member(alice).post(f"{url(collection)}/delete")
    assert not Collection.objects.exists()


def test_a_members_picker_offers_only_their_collections(alice, bob, papers):
    theirs = collection_create(owner=bob, name="Bob's list")
    response = member(alice).post(f"/papers/{papers[0].arxiv_id}/save", {"collection": theirs.pk})
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert theirs.items.count() == 0
    picker = member(alice).get(f"/papers/{papers[0].arxiv_id}/save").content.decode()
    assert "Bob&#x27;s list" not in picker
    assert "Bob's list" not in picker


def test_cards_and_paper_pages_offer_save_to_members_only(alice, papers):
    paper = papers[0]
    assert "/save" not in Client().get(f"/papers/{paper.arxiv_id}").content.decode()
    page = member(alice).get(f"/papers/{paper.arxiv_id}").content.decode()
    assert f"/papers/{paper.arxiv_id}/save" in page


def test_bad_input_gets_a_clear_error(alice, papers):
    client = member(alice)
    response = client.post("/collections/new", {"name": "   "})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Give the collection a name." in response.content.decode()
    response = client.post("/collections/new", {"name": "x", "visibility": "secret"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    client.post("/collections/new", {"name": "Same"})
    client.post("/collections/new", {"name": "Same"})
    assert sorted(Collection.objects.values_list("slug", flat=True)) == ["same", "same-2"]


def test_a_public_page_shows_bio_submissions_and_upvotes_only_when_chosen(alice, papers, commit):
    from papers.models import Upvote

    papers[0].submitted_by = alice
    papers[0].save()
    Upvote.objects.create(user=alice, paper=papers[1])
    client = member(alice)
    client.post(
        "/accounts/profile/public",
        {"bio": "Reads about <b>agents</b>.", "website": "example.org/alice"},
    )
    alice.refresh_from_db()
    assert alice.website == "https://example.org/alice"
    page = Client().get(f"/u/{alice.username}").content.decode()
    assert "Reads about &lt;b&gt;agents&lt;/b&gt;." in page
    assert "Paper number 0" in page  # submitted
    assert "Paper number 1" not in page  # upvotes are private by default
    assert ">A</span>" in page  # the initials avatar
    commit(lambda: client.post("/accounts/profile/public", {"bio": "", "show_upvotes": "on"}))
    assert "Paper number 1" in Client().get(f"/u/{alice.username}").content.decode()
    bad = client.post("/accounts/profile/public", {"website": "javascript:alert(1)"})
    assert bad.status_code == HTTPStatus.FOUND
    alice.refresh_from_db()
    assert alice.website == ""  # as the second save left it: the bad address is refused


def test_a_collection_page_costs_as_many_queries_with_30_papers_as_with_3(alice):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    small = collection_create(owner=alice, name="Small", visibility="public")
    big = collection_create(owner=alice, name="Big", visibility="public")
    for collection, n in ((small, 3), (big, 30)):
        for paper in PaperFactory.create_batch(n):
            item_add(user=alice, collection=collection, paper=paper, note="why")
    client = member(alice)
    client.get(url(small))  # the session and member are read once, then kept
    counts = []
    for collection in (small, big):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url(collection)).status_code == HTTPStatus.OK
        counts.append(len(captured))
    assert counts[0] == counts[1]

"""Search by meaning: the packaged model loads offline, every paper gets a vector at
ingestion, search fuses full text and vectors, similar papers come from the vectors."""

from __future__ import annotations

import socket
from http import HTTPStatus

import numpy as np
import pytest
from django.core.management import call_command
from django.urls import reverse

from papers import embeddings, vectors
from papers.embeddings import MODEL_NAME, embed_stale, stale_ids
from papers.models import PaperEmbedding
from papers.search import ranking
from tests.factories import PaperFactory
from tests.papers.topics import TOPICS

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"a network connection was attempted: {args}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_the_model_loads_from_the_package_without_the_network(no_network):
    embeddings.model.cache_clear()
    model = embeddings.model()
    weights, tokenizer = embeddings.package_files()
    assert weights.is_file()
    assert tokenizer.is_file()
    found = model.embed(["speculative decoding drafts tokens", "", "drafting tokens"])
    assert found.shape == (3, embeddings.DIMENSIONS)
    assert np.allclose(np.linalg.norm(found[[0, 2]], axis=1), 1.0, atol=1e-5)
    assert not found[1].any()  # no text, no vector
    assert float(found[0] @ found[2]) > 0.5


def test_ingestion_embeds_new_papers_and_a_changed_text_again(commit, fixture_bytes):
    from tests.conftest import HF_DAILY

    commit(lambda: call_command("ingest", "file", str(HF_DAILY), stdout=None))  # task: eager
    assert PaperEmbedding.objects.filter(model=MODEL_NAME).count() == 30
    assert stale_ids(limit=100) == []

    paper = PaperEmbedding.objects.first().paper
    before = bytes(paper.embedding.vector)
    paper.abstract = "An entirely different abstract about protein folding."
    paper.save()
    assert stale_ids(limit=100) == [paper.pk]
    assert embed_stale() == 1
    paper.embedding.refresh_from_db()
    assert bytes(paper.embedding.vector) != before


def test_a_paper_changed_but_not_its_text_keeps_its_vector():
    paper = PaperFactory()
    embed_stale()
    paper.github_stars = 10
    paper.save()
    assert stale_ids(limit=10) == [paper.pk]
    assert embed_stale() == 0  # its text is the same: not embedded again
    assert stale_ids(limit=10) == []


def test_a_model_change_embeds_every_paper_again(monkeypatch):
    papers = PaperFactory.create_batch(3)
    embed_stale()
    monkeypatch.setattr(embeddings, "MODEL_NAME", "another-model")
    assert stale_ids(limit=10) == [p.pk for p in papers]


def test_the_backfill_command_shows_progress_and_resumes(capsys):
    PaperFactory.create_batch(5)
    call_command("embed_papers")
    out = capsys.readouterr().out
    assert "papers: 5 of at most 5" in out
    assert "5 papers embedded" in out
    call_command("embed_papers")
    assert "0 papers embedded" in capsys.readouterr().out


def test_fusion_rewards_papers_both_rankings_find():
    assert vectors.fuse([1, 2, 3], [3, 4, 1]) == [1, 3, 2, 4]
    assert vectors.fuse([], [5, 6]) == [5, 6]
    assert vectors.fuse([7], []) == [7]


@pytest.fixture
def library():
    papers = {k: PaperFactory(title=t, abstract=a) for k, (t, a) in TOPICS.items()}
    embed_stale()
    return papers


def test_hybrid_search_finds_a_paper_by_meaning_that_full_text_misses(library, settings):
    query = "making generation faster by guessing tokens ahead"
    assert ranking(query, page=1, mode="fulltext").ids == []
    found = ranking(query, page=1, mode="hybrid").ids
    assert found[0] == library["draft"].pk


def test_the_search_page_and_the_api_search_by_meaning(client, library):
    query = "guessing several tokens ahead to speed up generation"
    page = client.get(reverse("papers:search"), {"q": query}).content.decode()
    assert "Speculative Decoding" in page
    answer = client.get("/api/papers/search", {"q": query}).json()
    assert answer[0]["paper"]["id"] == library["draft"].arxiv_id


def test_a_query_unlike_every_paper_finds_nothing(library):
    assert ranking("zzzz qqqq", page=1, mode="hybrid").ids == []


def test_similar_papers_come_from_the_vectors(client, library):
    other = PaperFactory(
        title="Faster decoding with draft tokens",
        abstract="Speculative decoding with a smaller drafter verified by the target model.",
    )
    embed_stale()
    page = client.get(reverse("papers:paper", args=[library["draft"].arxiv_id])).content.decode()
    similar = page[page.index("Similar papers") :]
    assert other.title in similar
    answer = client.get(f"/api/papers/{library['draft'].arxiv_id}/similar", {"limit": 2})
    assert answer.status_code == HTTPStatus.OK
    ids = [item["id"] for item in answer.json()]
    assert ids[0] == other.arxiv_id
    assert library["draft"].arxiv_id not in ids


@pytest.mark.parametrize("limit", ["0", "51", "x"])
def test_similar_papers_refuse_a_bad_limit(client, library, limit):
    answer = client.get(f"/api/papers/{library['draft'].arxiv_id}/similar", {"limit": limit})
    assert answer.status_code == HTTPStatus.BAD_REQUEST
    assert answer.json()["error"]


def test_similar_papers_of_an_unknown_paper_are_not_found(client):
    answer = client.get("/api/papers/2699.99999/similar")
    assert answer.status_code == HTTPStatus.NOT_FOUND


def test_a_hidden_paper_is_never_similar_nor_found(client, library):
    library["robots"].hidden = True
    library["robots"].save()
    assert library["robots"].pk not in ranking("robots opening doors", page=1).ids
    ids = vectors.similar_ids(library["speech"].pk, limit=5)
    assert library["robots"].pk in ids  # the index keeps it; the pages leave it out
    answer = client.get(f"/api/papers/{library['speech'].arxiv_id}/similar").json()
    assert library["robots"].arxiv_id not in [item["id"] for item in answer]


def test_the_hybrid_ranks_the_newest_full_text_matches_and_says_when_there_are_more(
    client, monkeypatch
):
    from papers import search

    monkeypatch.setattr(search, "POOL", 3)
    papers = [PaperFactory(title=f"Graph paper {n}", abstract="Graphs.") for n in range(5)]
    embed_stale()
    found = ranking("graph", page=1, mode="hybrid")
    assert found.more is True
    assert {p.pk for p in papers[2:]} <= set(found.ids)  # the newest three, by words
    page = client.get(reverse("papers:search"), {"q": "graph"}).content.decode()
    assert f"{found.total}+ papers" in page
    assert ranking("graph", page=1, mode="fulltext").total == 5  # full text ranks every match


def test_the_nearest_vectors_are_found_by_a_helper_thread_during_the_full_text_query(
    library, monkeypatch
):
    """The product with the matrix overlaps the full-text query: it runs on the helper
    thread while the database answers (a search doing one after the other would never see
    the full-text query start while it looks for the nearest vectors)."""
    import threading

    from papers import search

    seen: dict[str, object] = {}
    asking = threading.Event()
    nearest = vectors.Index.nearest
    words = search._words

    def on_thread(self, *args, **kwargs):
        seen["thread"] = threading.current_thread().name
        seen["overlapped"] = asking.wait(timeout=5)
        return nearest(self, *args, **kwargs)

    def full_text(query, category):
        asking.set()
        return words(query, category)

    monkeypatch.setattr(vectors.Index, "nearest", on_thread)
    monkeypatch.setattr(search, "_words", full_text)
    found = ranking("making generation faster by guessing tokens ahead", page=1, mode="hybrid")
    assert found.ids[0] == library["draft"].pk
    assert str(seen["thread"]).startswith("vectors")
    assert seen["overlapped"] is True


def test_each_process_does_its_linear_algebra_on_one_thread():
    """Several web processes share the cores: BLAS threads spinning after each product
    would take the time the other processes need (docs/SEARCH.md)."""
    import os

    import config  # noqa: F401  (sets it before numpy loads)

    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"

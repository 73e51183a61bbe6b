"""The approximate index (VECTOR_INDEX=hnsw): a graph file built from every vector, mapped by
each process, with the vectors written since its build searched exactly beside it."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from config.celery import beat_schedule
from papers import ann, foryou, tasks, vectors
from papers.embeddings import embed_stale
from papers.search import ranking
from tests.factories import PaperFactory
from tests.papers.topics import TOPICS as MEANING_TOPICS

pytestmark = pytest.mark.django_db

TOPICS = {
    **MEANING_TOPICS,
    "molecules": (
        "Graph Networks for Molecular Property Prediction",
        "Message passing over atoms and bonds predicts the properties of molecules.",
    ),
    "medical": (
        "Segmenting Tumours in CT Scans with Few Labels",
        "Medical image segmentation when only a handful of scans are annotated.",
    ),
}


@pytest.fixture
def hnsw(settings, tmp_path):
    settings.VECTOR_INDEX = "hnsw"
    settings.VAR_DIR = tmp_path
    return settings


@pytest.fixture
def library():
    papers = {key: PaperFactory(title=t, abstract=a) for key, (t, a) in TOPICS.items()}
    embed_stale()
    return papers


@pytest.fixture
def built(commit):
    """Build the graph, as the command does, and the index that takes it up."""

    def build() -> vectors.Index:
        commit(lambda: call_command("build_vector_index"))
        found = vectors.index()
        assert found.graph is not None
        return found

    return build


def graph_alone(monkeypatch) -> None:
    """Read nothing again that the graph holds. The index reads again what was written
    from REREAD_MARGIN before the newest vector of the graph, in case it committed late;
    here every paper was written within a second of it."""
    monkeypatch.setattr(vectors, "REREAD_MARGIN", -timedelta(microseconds=1))


def in_graph_only(index: vectors.Index, paper_id: int) -> bool:
    """Read from the graph alone."""
    return paper_id not in index.rows and index.graph.vectors([paper_id]) != {}


def test_the_graph_answers_as_the_exact_search_does(hnsw, library, built, capsys, monkeypatch):
    query = "making generation faster by guessing tokens ahead"
    exact = ranking(query, page=1, mode="vector").ids
    graph_alone(monkeypatch)
    index = built()
    out = capsys.readouterr().out
    assert "vectors: 5 of 5" in out
    assert f"5 papers in {ann.path()}" in out
    assert index.graph.size == 5
    assert all(in_graph_only(index, paper.pk) for paper in library.values())
    assert index.graph.index.expansion_search == ann.EXPANSION_SEARCH
    assert ranking(query, page=1, mode="vector").ids == exact
    assert ranking(query, page=1, mode="hybrid").ids[0] == library["draft"].pk


def test_vectors_written_after_the_build_are_searched_beside_it(
    hnsw, library, built, commit, monkeypatch
):
    graph_alone(monkeypatch)
    built()
    newer = PaperFactory(
        title="Drafting tokens with a small model to speed up decoding",
        abstract="Speculative decoding: a drafter proposes, the large model verifies.",
    )
    commit(embed_stale)
    index = vectors.index()
    assert list(index.rows) == [newer.pk]
    assert in_graph_only(index, library["draft"].pk)
    found = ranking("guessing tokens ahead to make generation faster", page=1, mode="vector")
    assert set(found.ids[:2]) == {newer.pk, library["draft"].pk}


def test_a_paper_whose_text_changed_is_found_by_its_new_vector_only(hnsw, library, built, commit):
    built()
    speech = library["speech"]
    speech.title = "Protein Folding with Diffusion Models"
    speech.abstract = "Diffusion generates the three-dimensional structure of proteins."
    speech.save()
    commit(embed_stale)
    index = vectors.index()
    assert speech.pk in index.rows
    assert index.graph.vectors([speech.pk]) != {}  # its old vector, still in the graph
    query = vectors.query_vector("diffusion models generating protein structures")
    found = index.nearest(query, limit=10)
    assert [pk for pk, _score in found].count(speech.pk) == 1
    assert found[0][0] == speech.pk
    assert found[0][1] == pytest.approx(float(index.matrix[index.rows[speech.pk]] @ query))


def test_similar_papers_and_for_you_read_vectors_from_the_graph(
    hnsw, library, built, client, monkeypatch
):
    other = PaperFactory(
        title="Faster decoding with draft tokens",
        abstract="Speculative decoding with a smaller drafter verified by the target model.",
    )
    embed_stale()
    graph_alone(monkeypatch)
    assert in_graph_only(built(), other.pk)
    answer = client.get(f"/api/papers/{library['draft'].arxiv_id}/similar", {"limit": 2})
    assert answer.status_code == HTTPStatus.OK
    ids = [item["id"] for item in answer.json()]
    assert ids[0] == other.arxiv_id
    assert library["draft"].arxiv_id not in ids
    taste = vectors.index().vector(library["robots"].pk)
    order = foryou.order_by_taste([library["speech"].pk, library["robots"].pk, 10**9], taste)
    assert order == [1, 0, 2]  # the robots paper first; an unknown paper last


def test_each_process_takes_a_new_build_up(hnsw, library, built, commit, monkeypatch):
    graph_alone(monkeypatch)
    first = built()
    another = PaperFactory(title="Another paper", abstract="About something else entirely.")
    commit(embed_stale)
    assert list(vectors.index().rows) == [another.pk]
    again = built()
    assert again is not first
    assert again.graph.size == 6
    assert in_graph_only(again, another.pk)


def test_without_a_built_graph_the_exact_search_holds_every_vector(hnsw, library):
    index = vectors.index()
    assert index.graph is None
    assert len(index.ids) == 5
    found = ranking("robots opening drawers", page=1, mode="vector").ids
    assert found[0] == library["robots"].pk


def test_a_graph_of_another_model_is_not_used(hnsw, library, built, monkeypatch):
    built()
    graph_path = ann.path()
    monkeypatch.setattr(ann, "MODEL_NAME", "another-model")
    monkeypatch.setattr(ann, "path", lambda: graph_path)
    vectors.forget()
    assert ann.load() is None
    assert len(vectors.index().ids) == 5


def test_the_command_refuses_when_the_graph_would_not_be_used(settings, library):
    settings.VECTOR_INDEX = "exact"
    with pytest.raises(CommandError, match="VECTOR_INDEX is 'exact'"):
        call_command("build_vector_index")
    assert tasks.build_vector_index() == tasks.SKIPPED


def test_the_graph_is_rebuilt_each_night(hnsw, library):
    entry = beat_schedule()["build-vector-index"]
    assert entry["task"] == "papers.build_vector_index"
    assert tasks.build_vector_index() == "5 papers in the graph"
    assert ann.load() is not None


def test_an_empty_catalogue_builds_an_empty_graph(hnsw):
    call_command("build_vector_index")
    index = vectors.index()
    assert index.graph is not None
    assert index.graph.size == 0
    assert index.nearest(np.ones(256, np.float32) / 16, limit=5) == []

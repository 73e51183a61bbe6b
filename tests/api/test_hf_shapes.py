"""Our Hugging Face-compatible responses against the recorded huggingface.co responses,
key by key: every key a sample has, with the same JSON type; `null` only where the sample
itself leaves the key out of some items, or where a reason below says why."""

from __future__ import annotations

import json
from collections import defaultdict
from http import HTTPStatus
from typing import Any

import pytest

from papers.models import Paper
from papers.services.ingestion import papers_upsert
from papers.sources.hf import parse_items
from tests.conftest import HF_DAILY, HF_PAPER, HF_SEARCH
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db

# Keys the samples always fill that we answer with null, and why.
NULL_BECAUSE = {
    ".paper.ai_summary_model": "we store the AI summary, not which model wrote it",
    ".ai_summary_model": "we store the AI summary, not which model wrote it",
    ".githubRepoAddedBy": "we store the repository, not who linked it on Hugging Face",
}
# Keys whose items we never fill, so their inner keys cannot be compared.
EMPTY_BECAUSE = {
    ".linkedDatasets": "linked models, datasets and Spaces are out of scope: always []",
    ".linkedModels": "linked models, datasets and Spaces are out of scope: always []",
    ".linkedSpaces": "linked models, datasets and Spaces are out of scope: always []",
    ".mediaUrls": "media are not stored: always []",
    ".paper.mediaUrls": "media are not stored: always []",
}


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


class Shape:
    """For each key path of a list of JSON items: its types, and whether every object
    that could hold it does."""

    def __init__(self, items: list[Any]) -> None:
        self.types: dict[str, set[str]] = defaultdict(set)
        self.present: dict[str, int] = defaultdict(int)
        self.objects: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for item in items:
            self._walk(item, "")

    def _walk(self, value: Any, path: str) -> None:
        self.types[path].add(json_type(value))
        if isinstance(value, dict):
            self.objects[path].append(value)
            for key, child in value.items():
                self.present[f"{path}.{key}"] += 1
                self._walk(child, f"{path}.{key}")
        elif isinstance(value, list):
            for child in value:
                self._walk(child, f"{path}[]")

    def always_present(self, path: str) -> bool:
        parent = path.rsplit(".", 1)[0]
        return self.present[path] == len(self.objects[parent])

    def key_paths(self) -> list[str]:
        return sorted(self.present)


def assert_same_shape(
    ours: list[Any], samples: list[Any], *, null_because: dict[str, str] | None = None
) -> None:
    nullable = {**NULL_BECAUSE, **(null_because or {})}
    expected, got = Shape(samples), Shape(ours)
    problems = []
    for path in expected.key_paths():
        if any(path.startswith(f"{empty}[]") for empty in EMPTY_BECAUSE):
            continue
        parent, key = path.rsplit(".", 1)
        for obj in got.objects[parent]:
            if key not in obj:
                problems.append(f"{path}: missing")
                continue
            kind = json_type(obj[key])
            allowed = expected.types[path] - {"null"}
            always = expected.always_present(path) and "null" not in expected.types[path]
            if kind == "null":
                if always and path not in nullable:
                    problems.append(f"{path}: null, the sample always has {allowed}")
            elif kind not in allowed:
                problems.append(f"{path}: {kind}, the sample has {allowed}")
    assert sorted(set(problems)) == []


def load_sample(path) -> Any:
    return json.loads(path.read_text())


def test_daily_papers_item_has_every_key_of_hugging_faces(client, demo):
    response = client.get("/api/daily_papers", {"date": "2026-06-12"})

    assert response.status_code == HTTPStatus.OK
    ours = response.json()
    assert len(ours) == 30
    assert_same_shape(ours, load_sample(HF_DAILY))


def test_daily_papers_item_of_a_bare_paper_keeps_the_shape(client, alice):
    """A paper from arXiv alone: every key is still there, null where we know nothing."""
    PaperFactory(submitted_by=alice)
    PaperFactory(submitted_by=None)

    ours = client.get("/api/daily_papers", {"date": "2026-06-12"}).json()

    nothing_known = "an arXiv-only paper has no thumbnail, AI summary or (maybe) submitter"
    assert_same_shape(
        ours,
        load_sample(HF_DAILY),
        null_because={
            path: nothing_known
            for path in (
                ".thumbnail",
                ".ai_summary",
                ".paper.ai_summary",
                ".submittedBy",
                ".paper.submittedOnDailyBy",
            )
        },
    )
    submitters = {item["submittedBy"]["user"] if item["submittedBy"] else None for item in ours}
    assert submitters == {"alice", None}


def test_paper_info_has_every_key_of_hugging_faces(client):
    sample = load_sample(HF_PAPER)
    papers_upsert(items=parse_items([sample]))

    response = client.get("/api/papers/2608.09888")

    assert response.status_code == HTTPStatus.OK
    ours = response.json()
    assert_same_shape([ours], [sample])
    for key in ("id", "title", "upvotes", "githubRepo", "githubStars", "projectPage"):
        assert ours[key] == sample[key]
    assert ours["publishedAt"] == sample["publishedAt"]
    assert ours["submittedOnDailyAt"] == sample["submittedOnDailyAt"]
    assert [a["name"] for a in ours["authors"]] == [a["name"] for a in sample["authors"]]
    assert ours["submittedOnDailyBy"]["user"] == "janchorowski"
    assert ours["organization"]["name"] == "pathwaycom"
    assert (ours["linkedDatasets"], ours["numTotalDatasets"]) == ([], 0)


def test_search_result_has_every_key_of_hugging_faces(client):
    sample = load_sample(HF_SEARCH)
    papers_upsert(items=parse_items(sample))
    assert Paper.objects.count() == len(sample)

    response = client.get("/api/papers/search", {"q": "Kazakh"})

    assert response.status_code == HTTPStatus.OK
    ours = response.json()
    assert {item["paper"]["id"] for item in ours} == {item["paper"]["id"] for item in sample}
    assert_same_shape(ours, sample)


def test_search_highlights_the_query_in_titles_as_hugging_face_does(client):
    sample = load_sample(HF_SEARCH)
    papers_upsert(items=parse_items(sample))

    ours = {i["paper"]["id"]: i for i in client.get("/api/papers/search?q=Kazakh").json()}

    def squashed(segments: list[dict[str, str]]) -> list[tuple[str, str]]:
        return [(s["type"], " ".join(s["text"].split())) for s in segments if s["text"].strip()]

    for item in sample:
        got = ours[item["paper"]["id"]]
        assert squashed(got["highlightedTitle"]) == squashed(item["highlightedTitle"])
        # Hugging Face marks only some matches in an abstract; we mark every whole-word one.
        assert "".join(s["text"] for s in got["highlightedSummary"]) == got["summary"]
        assert {s["text"] for s in got["highlightedSummary"] if s["type"] == "highlight"} <= {
            "Kazakh"
        }


def test_the_shape_check_notices_a_missing_key_a_wrong_type_and_a_stray_null():
    sample = [{"a": 1, "b": {"c": "x"}, "d": "y"}]

    with pytest.raises(AssertionError, match=r"\.a: missing"):
        assert_same_shape([{"b": {"c": "x"}, "d": "y"}], sample)
    with pytest.raises(AssertionError, match=r"\.b\.c: number"):
        assert_same_shape([{"a": 1, "b": {"c": 2}, "d": "y"}], sample)
    with pytest.raises(AssertionError, match=r"\.d: null"):
        assert_same_shape([{"a": 1, "b": {"c": "x"}, "d": None}], sample)
    assert_same_shape([{"a": 1, "b": {"c": "x"}, "d": None}], sample, null_because={".d": "ok"})

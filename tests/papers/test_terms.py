"""One rule for what a term matches, wherever terms are looked for."""

from __future__ import annotations

import pytest

from api.hf_shapes import highlight
from digests.selectors import DigestPaper, select_papers
from papers.rendering import highlight_html
from papers.terms import search_terms, segments, terms_pattern


@pytest.mark.parametrize(
    ("term", "text", "marked"),
    [
        ("model", "Models and a model, not modelling", ["Models", "model"]),
        ("llm", "LLMs beat an LLM", ["LLMs", "LLM"]),
        ("kazakh", "Kazakh, not Kazakhstan", ["Kazakh"]),
        ("language model", "a large language model", ["language model"]),
        ("c++", "written in C++ and C", ["C++"]),
    ],
)
def test_a_term_matches_whole_words_and_their_plurals_in_any_case(term, text, marked):
    found = [piece for piece, hit in segments(text, terms_pattern([term])) if hit]

    assert found == marked


def test_pages_the_api_and_digests_mark_the_same_words():
    text = "Agents and agentic models"
    pattern = terms_pattern(["agent"])

    api = [s["text"] for s in highlight(text, pattern) if s["type"] == "highlight"]
    page = highlight_html(text, ["agent"])

    assert api == ["Agents"]
    assert page == "<mark>Agents</mark> and agentic models"
    agentic, agents = (
        DigestPaper(
            arxiv_id=arxiv_id,
            title="",
            authors=(),
            more_authors=0,
            summary="",
            votes=0,
            url="",
            text=text,
        )
        for arxiv_id, text in (("2401.00001", "agentic models"), ("2401.00002", "agents"))
    )
    assert select_papers([agentic, agents], ["agent"], 5) == [agents]


def test_segments_give_back_the_text_and_an_empty_query_marks_nothing():
    text = "Retrieval for retrieval-augmented generation"

    assert "".join(p for p, _ in segments(text, terms_pattern(["retrieval"]))) == text
    assert segments(text, terms_pattern([" ", ""])) == [(text, False)]
    assert search_terms("retrieval OR a and generation") == ["retrieval", "generation"]

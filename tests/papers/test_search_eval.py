"""The labelled search evaluation (bench/search_eval.py) in the suite: the shipped default
(SEARCH_MODE at SEARCH_MIN_SIMILARITY) ranks the reader queries best of full text alone,
vectors alone and the hybrid, at each least similarity compared."""

from __future__ import annotations

import pytest
from django.conf import settings

from bench.search_eval import THRESHOLDS, choose, evaluate, load_corpus, ndcg, queries

pytestmark = pytest.mark.django_db


def test_ndcg_counts_the_place_of_each_relevant_paper():
    assert ndcg(["a", "b"], {"a"}) == 1.0
    assert ndcg(["b", "a"], {"a"}) == pytest.approx(0.6309, abs=1e-4)
    assert ndcg(["c"], {"a", "b"}) == 0.0


def test_the_default_ranking_is_the_best_of_the_three():
    assert load_corpus() >= 50
    paraphrases = queries()
    assert len(paraphrases) >= 40
    scores = evaluate(thresholds=THRESHOLDS, labelled=paraphrases + queries("named"))
    best = choose(scores)
    assert (best.mode, best.threshold) == (settings.SEARCH_MODE, settings.SEARCH_MIN_SIMILARITY)
    fulltext = next(s for s in scores if s.mode == "fulltext")
    assert best.ndcg_at_10 > fulltext.ndcg_at_10 + 0.3

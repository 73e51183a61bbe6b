"""Search quality on a labelled set: recall@5 and nDCG@10 of full text, vectors and the
hybrid, over the recorded papers of tests/fixtures and the reader queries of
bench/search_queries.json. Writes docs/SEARCH.md.

    .venv/bin/python -m bench.search_eval

Runs on PostgreSQL (its full-text search is what the site uses there), in a database of its
own created afresh (BENCH_DATABASE_URL's server, database `dailypapers_search_eval`).
tests/papers/test_search_eval.py runs the same evaluation in the test suite.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ROOT / "bench" / "search_queries.json"
FIXTURES = ROOT / "tests" / "fixtures"
CORPUS = [
    "hf_daily_papers_2026-06-12.json",
    "hf_papers_search_kazakh.json",
    "hf_paper_info_2608.09888.json",
    "arxiv_api_query_2016.xml",
    "arxiv_api_query_2026_format.xml",
    "arxiv_rss_cs.AI_2026-04-27.xml",
]
MODES = ("fulltext", "vector", "hybrid")
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/dailypapers_search_eval"


THRESHOLDS = (0.2, 0.25, 0.3, 0.35, 0.4)  # SEARCH_MIN_SIMILARITY values compared


@dataclass(frozen=True)
class Score:
    mode: str
    threshold: float | None  # SEARCH_MIN_SIMILARITY (None: full text uses none)
    recall_at_5: float
    ndcg_at_10: float
    found: int  # queries with a relevant paper in the first 10


def queries(kind: str = "queries") -> list[dict[str, object]]:
    """The reader queries (`queries`: paraphrases), or those with a paper's own words
    (`named`)."""
    loaded: list[dict[str, object]] = json.loads(QUERIES.read_text())[kind]
    return loaded


def load_corpus() -> int:
    """Ingest the recorded papers and embed them; the number of papers."""
    from django.core.management import call_command

    from papers.embeddings import embed_stale
    from papers.models import Paper

    for name in CORPUS:
        call_command("ingest", "file", str(FIXTURES / name), stdout=open(os.devnull, "w"))  # noqa: SIM115
    embed_stale()
    return Paper.objects.count()


def ndcg(ranked: Sequence[str], relevant: set[str], k: int = 10) -> float:
    gain = sum(1 / math.log2(i + 2) for i, pk in enumerate(ranked[:k]) if pk in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return gain / ideal


def evaluate(
    modes: Sequence[str] = MODES,
    thresholds: Sequence[float] | None = None,
    labelled: list[dict[str, object]] | None = None,
) -> list[Score]:
    """Each mode's mean recall@5 and nDCG@10 over the labelled queries; vector and hybrid
    for each least similarity in `thresholds` (default: the setting's)."""
    from django.conf import settings
    from django.test import override_settings

    from papers.models import Paper
    from papers.search import ranking

    arxiv_ids = dict(Paper.objects.values_list("pk", "arxiv_id"))
    labelled = labelled if labelled is not None else queries()
    scores = []
    for mode in modes:
        for threshold in (
            [None] if mode == "fulltext" else thresholds or [settings.SEARCH_MIN_SIMILARITY]
        ):
            recall = gain = 0.0
            found = 0
            with override_settings(SEARCH_MIN_SIMILARITY=threshold or 0.0):
                for item in labelled:
                    relevant = set(item["relevant"])  # type: ignore[call-overload]
                    ids = ranking(str(item["q"]), page=1, size=10, mode=mode).ids
                    ranked = [arxiv_ids[pk] for pk in ids]
                    recall += len(relevant & set(ranked[:5])) / len(relevant)
                    gain += ndcg(ranked, relevant)
                    found += bool(relevant & set(ranked))
            scores.append(
                Score(mode, threshold, recall / len(labelled), gain / len(labelled), found)
            )
    return scores


def choose(scores: Sequence[Score]) -> Score:
    """The best ranking: by nDCG@10, then recall@5; on a tie, hybrid (it keeps full text's
    exact matches) and the higher least similarity (fewer loose matches on a large
    database)."""
    preference = {"hybrid": 2, "vector": 1, "fulltext": 0}
    return max(
        scores,
        key=lambda s: (
            round(s.ndcg_at_10, 3),
            round(s.recall_at_5, 3),
            preference[s.mode],
            s.threshold or 0,
        ),
    )


def table(scores: Sequence[Score], total: int) -> str:
    lines = [
        "| ranking | least similarity | recall@5 | nDCG@10 | queries answered in the first 10 |",
        "|---|---|---|---|---|",
    ]
    for score in scores:
        threshold = "" if score.threshold is None else f"{score.threshold:.2f}"
        lines.append(
            f"| {score.mode} | {threshold} | {score.recall_at_5:.3f} | {score.ndcg_at_10:.3f} "
            f"| {score.found} of {total} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("SEARCH_EVAL_DATABASE_URL", DEFAULT_URL)
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "SEARCH.md")
    parser.add_argument("--no-report", action="store_true", help="print, write nothing")
    args = parser.parse_args(argv)

    from bench.run import ensure_database

    ensure_database(args.database_url, fresh=True)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.pop("REDIS_URL", None)  # the in-process cache: nothing shared to go stale
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.monotonic()
    papers = load_corpus()
    print(f"{papers} papers ingested and embedded in {time.monotonic() - started:.1f} s")
    sets = {"paraphrases": queries(), "named": queries("named")}
    sets["all"] = sets["paraphrases"] + sets["named"]
    tables = {}
    for name, labelled in sets.items():
        scores = evaluate(thresholds=THRESHOLDS, labelled=labelled)
        tables[name] = table(scores, len(labelled))
        print(f"\n{name} ({len(labelled)} queries)\n{tables[name]}")
    best = choose(scores)
    default = (settings.SEARCH_MODE, settings.SEARCH_MIN_SIMILARITY)
    print(f"best: {best.mode} at {best.threshold} (the default: {default[0]} at {default[1]})")
    if not args.no_report:
        write_report(args.out, tables, papers=papers, queries=len(sets["all"]))
    return 0 if (best.mode, best.threshold) == default else 1


def write_report(path: Path, tables: dict[str, str], *, papers: int, queries: int) -> None:
    text = path.read_text() if path.exists() else ""
    begin, end = "<!-- eval:begin -->", "<!-- eval:end -->"
    parts = "\n\n".join(f"**{name}**\n\n{result}" for name, result in tables.items())
    block = (
        f"{begin}\n{papers} papers, {queries} queries; made by "
        f"`.venv/bin/python -m bench.search_eval`.\n\n{parts}\n{end}"
    )
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
    else:
        text = f"{text.rstrip()}\n\n{block}\n" if text else f"# Search quality\n\n{block}\n"
    path.write_text(text)


if __name__ == "__main__":
    sys.exit(main())

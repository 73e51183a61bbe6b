from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from papers.models import IngestRun, Paper
from papers.services.ingestion import papers_ingest, papers_upsert
from papers.sources import files
from papers.sources.records import Author, PaperRecord, RejectedRecord
from tests.conftest import ARXIV_ATOM, ARXIV_RSS, HF_DAILY

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def arxiv_record(arxiv_id: str = "2604.00001", version: int = 1, **fields) -> PaperRecord:
    values = {
        "title": f"Title v{version}",
        "abstract": f"Abstract v{version}",
        "authors": [Author("Ada Lovelace", ("Analytical Engines Ltd",)), Author("Alan Turing")],
        "published_at": dt.datetime(2026, 4, 1, 12, tzinfo=UTC),
        "source_updated_at": dt.datetime(2026, 4, version, 12, tzinfo=UTC),
        "primary_category": "cs.AI",
        "categories": ["cs.AI", "cs.LG"],
    } | fields
    return PaperRecord(source="arxiv", arxiv_id=arxiv_id, version=version, **values)


def ingest_file(path) -> IngestRun:
    return papers_ingest(
        source="file", parameters={"path": str(path)}, fetch=lambda: files.read_file(path)
    )


def paper_writes(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        and "papers_paper" in q["sql"]
    ]


def test_hf_file_creates_every_paper_with_its_fields():
    run = ingest_file(HF_DAILY)

    assert (run.status, run.created, run.updated, run.unchanged, run.rejected) == (
        "succeeded",
        30,
        0,
        0,
        0,
    )
    paper = Paper.objects.get(arxiv_id="2606.13392")
    assert paper.listed_on == dt.date(2026, 6, 12)
    assert paper.published_at == dt.datetime(2026, 6, 11, tzinfo=UTC)
    assert paper.source_upvotes == 103
    assert paper.upvote_count == 0
    assert paper.github_repo == "https://github.com/MiniMax-AI/MSA"
    assert paper.github_stars == 251
    assert paper.organization["name"] == "MiniMaxAI"
    assert paper.source_comments == 4
    assert paper.thumbnail_url.endswith("/2606.13392.png")
    assert paper.ai_keywords
    assert paper.ai_summary
    assert paper.version is None


def test_second_run_over_the_same_input_writes_nothing():
    ingest_file(HF_DAILY)
    before = dict(Paper.objects.values_list("arxiv_id", "updated_at"))

    with CaptureQueriesContext(connection) as queries:
        run = ingest_file(HF_DAILY)

    assert (run.created, run.updated, run.unchanged) == (0, 0, 30)
    assert paper_writes(queries.captured_queries) == []
    assert dict(Paper.objects.values_list("arxiv_id", "updated_at")) == before


def test_upsert_is_bulk_not_one_query_per_paper():
    records = [arxiv_record(f"2604.{n:05d}") for n in range(300)]

    with CaptureQueriesContext(connection) as queries:
        result = papers_upsert(items=records)

    # One INSERT on PostgreSQL; SQLite's bound-parameter limit splits it into a few batches.
    assert result.created == 300
    assert len(paper_writes(queries.captured_queries)) <= 12
    assert len(queries.captured_queries) <= 16


def test_newer_arxiv_version_replaces_the_older_one():
    papers_upsert(items=[arxiv_record(version=1)])

    result = papers_upsert(items=[arxiv_record(version=2)])

    paper = Paper.objects.get(arxiv_id="2604.00001")
    assert result.updated == 1
    assert (paper.version, paper.title, paper.abstract) == (2, "Title v2", "Abstract v2")
    assert paper.published_at == dt.datetime(2026, 4, 1, 12, tzinfo=UTC)


def test_older_arxiv_version_never_replaces_a_newer_one():
    papers_upsert(items=[arxiv_record(version=3)])

    result = papers_upsert(items=[arxiv_record(version=2)])

    paper = Paper.objects.get(arxiv_id="2604.00001")
    assert (result.updated, result.unchanged) == (0, 1)
    assert (paper.version, paper.title) == (3, "Title v3")


def test_versions_in_one_batch_keep_the_newest_whatever_the_order():
    result = papers_upsert(items=[arxiv_record(version=2), arxiv_record(version=1)])

    assert result.created == 1
    assert Paper.objects.get().version == 2


def test_hugging_face_record_keeps_arxiv_metadata_and_adds_community_data():
    papers_upsert(items=[arxiv_record(version=2)])
    hf = PaperRecord(
        source="hf",
        arxiv_id="2604.00001",
        title="An HF title",
        source_upvotes=42,
        github_repo="https://github.com/x/y",
        listed_on=dt.date(2026, 4, 3),
    )

    papers_upsert(items=[hf])

    paper = Paper.objects.get()
    assert (paper.title, paper.version) == ("Title v2", 2)
    assert (paper.source_upvotes, paper.github_repo) == (42, "https://github.com/x/y")
    assert paper.listed_on == dt.date(2026, 4, 3)


def test_same_version_fills_gaps_without_overwriting():
    rss = arxiv_record(published_at=None, abstract="From RSS", authors=[Author("Ada Lovelace")])
    papers_upsert(items=[rss])

    papers_upsert(items=[arxiv_record(version=1)])

    paper = Paper.objects.get()
    assert paper.abstract == "From RSS"
    assert paper.published_at == dt.datetime(2026, 4, 1, 12, tzinfo=UTC)


def test_ingesting_keeps_local_upvote_count(alice):
    papers_upsert(items=[arxiv_record(version=1)])
    paper = Paper.objects.get()
    paper.upvotes.create(user=alice)
    Paper.objects.filter(pk=paper.pk).update(upvote_count=1)

    papers_upsert(items=[arxiv_record(version=2)])

    assert Paper.objects.get().upvote_count == 1


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"arxiv_id": "not-an-id"}, "is not an arXiv id"),
        ({"arxiv_id": "2604.1234v"}, "is not an arXiv id"),
        ({"title": ""}, "no title"),
        ({"title": "x" * 10_000_000}, "title is 10,000,000 characters long"),
        ({"abstract": "x" * 30_000}, "abstract is 30,000 characters long"),
        ({"published_at": dt.datetime(1900, 1, 1, tzinfo=UTC)}, "out of range"),
        ({"published_at": dt.datetime(2999, 1, 1, tzinfo=UTC)}, "out of range"),
        ({"github_repo": "javascript:alert(1)"}, "github repo is not an http(s) URL"),
        ({"project_page": "https://[::1/x"}, "project page is not an http(s) URL"),
        ({"authors": [Author("x" * 1000)]}, "an author name is 1,000 characters long"),
    ],
)
def test_invalid_record_is_rejected_with_its_reason_and_the_rest_is_kept(fields, reason):
    bad = arxiv_record("2604.99999") if "arxiv_id" not in fields else arxiv_record()
    for name, value in fields.items():
        setattr(bad, name, value)
    good = arxiv_record("2604.00002")

    result = papers_upsert(items=[bad, good])

    assert result.created == 1
    assert len(result.rejected) == 1
    assert reason in result.rejected[0].reason
    assert list(Paper.objects.values_list("arxiv_id", flat=True)) == ["2604.00002"]


def test_file_with_a_ten_megabyte_title_keeps_the_other_papers(tmp_path):
    items = json.loads(HF_DAILY.read_text())
    items[3]["paper"]["title"] = "A" * 10_000_000
    path = tmp_path / "big.json"
    path.write_text(json.dumps(items))

    run = ingest_file(path)

    assert (run.created, run.rejected) == (29, 1)
    assert run.rejections[0]["ref"] == items[3]["paper"]["id"]
    assert "title is 10,000,000 characters long" in run.rejections[0]["reason"]


def test_parser_rejections_are_counted_in_the_run():
    def fetch():
        return [arxiv_record(), RejectedRecord(ref="entry 1", reason="unreadable entry")]

    run = papers_ingest(source="file", parameters={}, fetch=fetch)

    assert (run.created, run.rejected) == (1, 1)
    assert run.rejections == [{"ref": "entry 1", "reason": "unreadable entry"}]


def test_failed_source_leaves_a_failed_run_and_no_paper(tmp_path):
    run = ingest_file(tmp_path / "missing.json")

    assert run.status == "failed"
    assert "no such file" in run.error
    assert run.finished_at is not None
    assert Paper.objects.count() == 0


def test_unexpected_error_is_recorded_then_raised():
    def fetch():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        papers_ingest(source="file", parameters={}, fetch=fetch)

    run = IngestRun.objects.get()
    assert (run.status, run.error) == ("failed", "RuntimeError: boom")


def test_arxiv_atom_and_rss_files_ingest_with_old_style_ids():
    atom = ingest_file(ARXIV_ATOM)
    rss = ingest_file(ARXIV_RSS)

    assert (atom.created, atom.rejected, rss.created, rss.rejected) == (10, 0, 3, 0)
    old = Paper.objects.get(arxiv_id="cond-mat/0412498")
    assert old.version == 1
    assert old.listed_on == dt.date(2004, 12, 19)
    assert [a["name"] for a in old.authors] == ["Adrian Del Maestro", "Subir Sachdev"]
    assert Paper.objects.get(arxiv_id="2604.21935").listed_on == dt.date(2026, 4, 27)


def test_a_nul_character_in_a_listing_costs_no_paper(tmp_path):
    items = json.loads(HF_DAILY.read_text())
    items[0]["paper"]["summary"] = "Before\u0000after"
    path = tmp_path / "nul.json"
    path.write_text(json.dumps(items))

    run = papers_ingest(source="file", parameters={}, fetch=lambda: files.read_file(path))

    assert run.status == "succeeded"
    assert Paper.objects.count() == len(items)
    assert Paper.objects.get(arxiv_id=items[0]["paper"]["id"]).abstract == "Beforeafter"

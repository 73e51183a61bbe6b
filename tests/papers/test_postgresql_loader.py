"""The PostgreSQL bulk loader (papers/services/postgresql_loader.py), one test at least per
raw statement, each checked against what the ORM or the trigger would have done:

- read_current's SELECT: test_current_values_read_raw_are_the_orms
- new ids from the sequence (nextval): test_new_papers_get_their_ids_in_the_order_they_came
- COPY into the table: test_a_big_write_shares_the_search_vectors_with_a_second_connection,
  test_papers_written_with_the_helper_are_found_by_search
- the temporary table, its COPY, INSERT ... ON CONFLICT, TRUNCATE and DROP:
  test_changed_papers_are_updated_in_chunks_with_fresh_vectors,
  test_a_paper_inserted_by_someone_else_meanwhile_is_updated_not_duplicated
- the big write's settings and their reset:
  test_the_settings_of_a_big_write_are_reset_after_it
- the helper's vector query: test_vectors_from_the_second_connection_are_the_triggers_to_the_byte
- a failing statement: test_a_database_error_in_a_big_write_is_reported_as_itself
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import threading

import psycopg
import pytest
from django.db import connection, transaction
from django.db.models import JSONField
from django.test.utils import CaptureQueriesContext

from papers.models import Paper
from papers.selectors import search_papers
from papers.services import ingestion, postgresql_loader
from papers.services.ingestion import papers_ingest, papers_upsert
from papers.sources.records import Author, PaperRecord

pytestmark = pytest.mark.django_db

UTC = dt.UTC
postgres = pytest.mark.postgres

# Text that is hard to get identical through two connections and two formats: quotes,
# backslashes, accents, other scripts, emoji, e-mail addresses, URLs, hyphens, numbers.
TRICKY = [
    "Don't \"quote\" me: O'Brien's back\\slash \\\\ and 'single' quotes",
    "Café naïve Ærøskøbing straße — Ελληνικά русский 中文 日本語 한국어 🙂🚀",
    "Mail someone@example.org, see https://example.org/a?b=c#d and v2.0-beta_3",
    "state-of-the-art self-supervised 3D ResNet-50 1e-5 10,000 x^2 <b>html</b> &amp;",
    "tab\tin text; colon: semicolon; pipe | ampersand & bang ! star * parens (a)",
]


def record(n: int, **fields) -> PaperRecord:
    text = TRICKY[n % len(TRICKY)]
    values = {
        "title": f"Paper marker{n}z: {text[:60]}",
        "abstract": f"{text} " * (1 + n % 7),
        "authors": [Author(f"Ann O'Author {n}"), Author("Zoë Ünïcode", hf_user="zoe")],
        "published_at": dt.datetime(2026, 4, 1 + n % 20, tzinfo=UTC),
        "listed_on": dt.date(2026, 4, 2 + n % 20),
        "ai_keywords": [f"key {n}", text[:30]] if n % 3 else None,
        "source_upvotes": n,
    } | fields
    return PaperRecord(source="hf", arxiv_id=f"2604.{n:05d}", **values)


def vectors() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT arxiv_id, search_vector::text FROM papers_paper")
        return dict(cursor.fetchall())


def vectors_as_the_trigger_computes_them() -> dict[str, str]:
    """Every vector computed again by the trigger (a no-op update of the title)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE papers_paper SET title = title")
        found = vectors()
        transaction.set_rollback(True)
    return found


def rows_written() -> int:
    """Rows this transaction inserted, updated or deleted in the papers table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables "
            "WHERE relid = 'papers_paper'::regclass"
        )
        return cursor.fetchone()[0]


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 4 papers, so that a few dozen papers take the big-write path."""
    monkeypatch.setattr(postgresql_loader, "WRITE_CHUNK", 4)


@pytest.fixture
def helper_first(monkeypatch):
    """Make the split certain: the first chunk this connection would compute itself waits
    until the helper connection has handed back one with its vectors. Counts both kinds."""
    delivered = threading.Event()
    counts = {"helper": 0, "trigger": 0}
    original_helper = postgresql_loader._vector_helper
    original_insert = postgresql_loader._CopyWriter.insert

    class SpyQueue:
        def __init__(self, inner):
            self.inner = inner

        def put(self, item):
            self.inner.put(item)
            if item is not postgresql_loader._HELPER_DONE and item[1] is not None:
                delivered.set()

    def helper(params, todo, done, built, stop):
        original_helper(params, todo, SpyQueue(done), built, stop)

    def insert(self, rows, vectors):
        if vectors is None:
            assert delivered.wait(10), "the helper connection computed nothing"
        counts["trigger" if vectors is None else "helper"] += 1
        original_insert(self, rows, vectors)

    monkeypatch.setattr(postgresql_loader, "_vector_helper", helper)
    monkeypatch.setattr(postgresql_loader._CopyWriter, "insert", insert)
    return counts


def test_json_fields_of_the_copy_are_the_models():
    json_fields = {f.name for f in Paper._meta.concrete_fields if isinstance(f, JSONField)}

    assert json_fields & set(postgresql_loader.WRITTEN_FIELDS) == postgresql_loader._JSON_FIELDS


@postgres
def test_a_big_write_shares_the_search_vectors_with_a_second_connection(small_chunks, helper_first):
    records = [record(n) for n in range(30)]

    result = papers_upsert(items=records)

    assert result.created == 30
    assert helper_first["helper"] >= 1
    assert helper_first["trigger"] >= 1
    assert helper_first["helper"] + helper_first["trigger"] == 8
    assert Paper.objects.count() == 30


@postgres
def test_vectors_from_the_second_connection_are_the_triggers_to_the_byte(
    small_chunks, helper_first
):
    records = [record(n) for n in range(30)]
    records.append(record(30, abstract="", authors=[], ai_keywords=None))
    records.append(record(31, abstract="long words " * 1_800))  # 19,800 characters

    papers_upsert(items=records)

    stored = vectors()
    assert helper_first["helper"] >= 1
    assert len(stored) == 32
    assert all(stored.values())
    assert stored == vectors_as_the_trigger_computes_them()


@postgres
def test_papers_written_with_the_helper_are_found_by_search(small_chunks, helper_first):
    papers_upsert(items=[record(n) for n in range(30)])

    # The helper takes chunks from the front (papers 0-3 first), this connection from the
    # back (28 and 29): both kinds are found like any other paper.
    for n in (0, 1, 28, 29):
        assert [p.arxiv_id for p in search_papers(f"marker{n}z")] == [f"2604.{n:05d}"]
    assert {p.arxiv_id for p in search_papers("Ærøskøbing straße")} == {
        f"2604.{n:05d}" for n in range(1, 30, 5)
    }
    assert Paper.objects.filter(search_vector="zoë").count() == 30


@postgres
def test_new_papers_get_their_ids_in_the_order_they_came(small_chunks, helper_first):
    records = [record(n) for n in (7, 3, 29, 0, 12, 5, 18, 1, 22, 9, 14, 26)]

    papers_upsert(items=records)

    in_id_order = list(Paper.objects.order_by("id").values_list("arxiv_id", flat=True))
    assert in_id_order == [r.arxiv_id for r in records]


@postgres
def test_the_settings_of_a_big_write_are_reset_after_it(small_chunks):
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('default_toast_compression')")
            (compression,) = cursor.fetchone()
        papers_upsert(items=[record(n) for n in range(12)])
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('papers.search_vector_given', true), "
                "current_setting('default_toast_compression')"
            )
            assert cursor.fetchone() == ("off", compression)


@postgres
def test_a_helper_that_cannot_connect_leaves_every_vector_to_the_trigger(
    small_chunks, monkeypatch, caplog
):
    def refuse(**params):
        raise psycopg.OperationalError("too many clients already")

    monkeypatch.setattr(postgresql_loader.psycopg, "connect", refuse)

    result = papers_upsert(items=[record(n) for n in range(30)])

    assert result.created == 30
    assert "helper connection failed" in caplog.text
    stored = vectors()
    assert all(stored.values())
    assert stored == vectors_as_the_trigger_computes_them()


@postgres
def test_a_paper_inserted_by_someone_else_meanwhile_is_updated_not_duplicated(
    small_chunks, monkeypatch
):
    papers_upsert(items=[record(5, title="Written first")])
    Paper.objects.filter(arxiv_id="2604.00005").update(upvote_count=3)
    # As if another ingestion inserted it after this one read the table.
    monkeypatch.setattr(ingestion, "_existing", lambda ids: {})

    result = papers_upsert(items=[record(n, title=f"Title {n}") for n in range(10)])

    assert result.created == 10  # what this ingestion saw
    assert Paper.objects.count() == 10
    paper = Paper.objects.get(arxiv_id="2604.00005")
    assert (paper.title, paper.upvote_count) == ("Title 5", 3)
    assert Paper.objects.filter(search_vector="written").count() == 0
    assert vectors() == vectors_as_the_trigger_computes_them()


@postgres
def test_changed_papers_are_updated_in_chunks_with_fresh_vectors(small_chunks):
    papers_upsert(items=[record(n, title=f"Old zeppelin {n}") for n in range(10)])

    result = papers_upsert(items=[record(n, title=f"New airship {n}") for n in range(10)])

    assert (result.created, result.updated) == (0, 10)
    assert Paper.objects.filter(search_vector="zeppelin").count() == 0
    assert Paper.objects.filter(search_vector="airship").count() == 10
    assert vectors() == vectors_as_the_trigger_computes_them()


@postgres
def test_a_big_rerun_writes_no_row(small_chunks):
    records = [record(n) for n in range(30)]
    papers_upsert(items=records)
    before = rows_written()

    with CaptureQueriesContext(connection) as queries:
        result = papers_upsert(items=[record(n) for n in range(30)])

    assert (result.created, result.updated, result.unchanged) == (0, 0, 30)
    assert rows_written() == before
    assert not [
        q for q in queries.captured_queries if "papers_paper" in q["sql"].split(" FROM ")[0]
    ]


def test_current_values_read_raw_are_the_orms(on_postgres):
    papers_upsert(items=[record(n) for n in range(6)])
    Paper.objects.filter(arxiv_id="2604.00002").update(
        organization={"name": "Lab", "n": 12345678901234567890, "f": 1.5, "nested": [None]},
        source_submitter={"user": "ann"},
        github_stars=7,
        version=3,
    )
    ids = sorted(Paper.objects.values_list("arxiv_id", flat=True))

    orm = {
        row.pop("arxiv_id"): row
        for row in Paper.objects.filter(arxiv_id__in=ids).values(
            "arxiv_id", *postgresql_loader.WRITTEN_FIELDS
        )
    }

    assert ingestion._existing(ids) == orm
    if on_postgres:
        assert postgresql_loader.read_current(ids) == orm
        assert json.dumps(postgresql_loader.read_current(ids), default=str) == json.dumps(
            orm, default=str
        )


def test_the_garbage_collector_runs_again_after_an_ingestion():
    assert gc.isenabled()
    papers_ingest(source="file", parameters={}, fetch=lambda: [record(1)])
    assert gc.isenabled()

    def fail():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        papers_ingest(source="file", parameters={}, fetch=fail)
    assert gc.isenabled()


INSERT_WITH_VECTOR = (
    "INSERT INTO papers_paper (arxiv_id, title, abstract, authors, listed_on, "
    "primary_category, categories, github_repo, project_page, ai_summary, ai_keywords, "
    "thumbnail_url, upvote_count, source_upvotes, comment_count, source_comments, hidden, "
    "created_at, updated_at, search_vector) VALUES (%s, 'Real title', '', '[]', "
    "'2026-04-01', '', '[]', '', '', '', '[]', '', 0, 0, 0, 0, false, now(), now(), "
    "'planted'::tsvector)"
)


def stored_vector(arxiv_id: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT search_vector::text FROM papers_paper WHERE arxiv_id = %s", [arxiv_id]
        )
        return cursor.fetchone()[0]


@postgres
def test_the_trigger_keeps_a_given_vector_only_for_an_insert_that_says_so():
    with connection.cursor() as cursor:
        cursor.execute(INSERT_WITH_VECTOR, ["2604.00001"])
        assert stored_vector("2604.00001") == "'real':1A 'titl':2A"  # computed, not planted

        with transaction.atomic():
            cursor.execute("SELECT set_config('papers.search_vector_given', 'on', true)")
            cursor.execute(INSERT_WITH_VECTOR, ["2604.00002"])
            assert stored_vector("2604.00002") == "'planted'"  # kept, as the ingestion does
            # Updates always compute it, even in that transaction.
            cursor.execute(
                "UPDATE papers_paper SET title = 'Brave words', search_vector = 'x' "
                "WHERE arxiv_id = '2604.00002'"
            )
            assert stored_vector("2604.00002") == "'brave':1A 'word':2A"

        cursor.execute("SELECT set_config('papers.search_vector_given', 'on', false)")
        try:
            paper = Paper.objects.create(
                arxiv_id="2604.00003", title="Admin adds", listed_on=dt.date(2026, 4, 1)
            )
        finally:
            cursor.execute("SELECT set_config('papers.search_vector_given', 'off', false)")
    assert stored_vector(paper.arxiv_id) == "'add':2A 'admin':1A"  # no vector given: computed


@postgres
def test_the_trigger_and_the_function_compute_the_same_vector_as_migration_0002():
    """The expression of migration 0002, spelled out, against what is stored."""
    papers_upsert(items=[record(n) for n in range(10)])
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM papers_paper WHERE search_vector IS DISTINCT FROM (
              setweight(to_tsvector('english', coalesce(title, '')), 'A') ||
              setweight(to_tsvector('simple', coalesce(
                (SELECT string_agg(a->>'name', ' ') FROM jsonb_array_elements(authors) a),
                '')), 'B') ||
              setweight(to_tsvector('english', coalesce(
                (SELECT string_agg(k, ' ') FROM jsonb_array_elements_text(ai_keywords) k),
                '')), 'B') ||
              setweight(to_tsvector('english', coalesce(abstract, '')), 'C'))
            """
        )
        assert cursor.fetchone()[0] == 0


@postgres
def test_a_database_error_in_a_big_write_is_reported_as_itself(small_chunks):
    records = [record(n) for n in range(30)]
    records[17].abstract = "A NUL \x00 cannot be stored in PostgreSQL text"

    with pytest.raises(psycopg.DataError) as error:
        papers_upsert(items=records)

    assert "0x00" in str(error.value)
    assert Paper.objects.count() == 0


@postgres
@pytest.mark.django_db(transaction=True)
def test_two_big_ingestions_of_the_same_papers_at_once_both_succeed():
    """Each updates what the other creates, in opposite orders: without one writer at a
    time, PostgreSQL finds a deadlock and rolls one of them back."""
    Paper.objects.bulk_create(
        [
            Paper(arxiv_id=f"2604.{n:05d}", title="old", listed_on="2026-04-02")
            for n in range(0, 3000, 2)
        ]
    )
    forward = [record(n, source_upvotes=1) for n in range(3000)]
    backward = [record(n, source_upvotes=2) for n in reversed(range(3000))]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def ingest(items: list[PaperRecord]) -> None:
        try:
            start.wait()
            papers_upsert(items=items)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=ingest, args=(items,)) for items in (forward, backward)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert Paper.objects.count() == 3000
    assert set(Paper.objects.values_list("source_upvotes", flat=True)) <= {1, 2}
    assert not Paper.objects.filter(title="old").exists()

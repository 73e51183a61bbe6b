from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Callable

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from papers.models import Paper, Upvote
from papers.services.votes import (
    paper_toggle_upvote,
    paper_unvote,
    paper_upvote,
    paper_vote_by_arxiv_id,
)
from tests.factories import PaperFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_upvote_is_idempotent_and_counts_local_plus_source_votes(alice):
    paper = PaperFactory(source_upvotes=7)

    first = paper_upvote(paper=paper, user=alice)
    second = paper_upvote(paper=paper, user=alice)

    assert (first.upvoted, first.upvotes) == (True, 8)
    assert (second.upvoted, second.upvotes) == (True, 8)
    assert Paper.objects.get().upvote_count == Upvote.objects.count() == 1


def test_unvote_is_idempotent(alice):
    paper = PaperFactory()
    paper_upvote(paper=paper, user=alice)

    assert paper_unvote(paper=paper, user=alice).upvoted is False
    assert paper_unvote(paper=paper, user=alice).upvotes == 0
    assert Paper.objects.get().upvote_count == 0


def test_toggle_flips_the_vote(alice, bob):
    paper = PaperFactory()

    assert paper_toggle_upvote(paper=paper, user=alice).upvoted is True
    assert paper_toggle_upvote(paper=paper, user=bob).upvotes == 2
    assert paper_toggle_upvote(paper=paper, user=alice).upvoted is False
    assert Paper.objects.get().upvote_count == 1


def _in_threads(count: int, work: Callable[[int], object]) -> None:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            work(index)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_members_upvoting_at_once_leave_exactly_fifty_votes():
    paper = PaperFactory()
    members = UserFactory.create_batch(50)

    _in_threads(50, lambda i: paper_upvote(paper=paper, user=members[i]))

    assert Upvote.objects.filter(paper=paper).count() == 50
    assert Paper.objects.get(pk=paper.pk).upvote_count == 50


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_member_upvoting_from_twenty_tabs_at_once_counts_once():
    paper = PaperFactory()
    member = UserFactory()

    _in_threads(20, lambda _i: paper_upvote(paper=paper, user=member))

    assert Upvote.objects.filter(paper=paper).count() == 1
    assert Paper.objects.get(pk=paper.pk).upvote_count == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_votes_and_unvotes_never_drift():
    paper = PaperFactory()
    members = UserFactory.create_batch(30)
    for member in members[:15]:
        paper_upvote(paper=paper, user=member)

    _in_threads(30, lambda i: paper_toggle_upvote(paper=paper, user=members[i]))

    rows = Upvote.objects.filter(paper=paper).count()
    assert rows == 15
    assert Paper.objects.get(pk=paper.pk).upvote_count == rows


# --- one statement per vote --------------------------------------------------------------


def test_a_vote_by_arxiv_id_counts_local_plus_source_votes_and_is_idempotent(alice, bob):
    paper = PaperFactory(arxiv_id="2612.00042", source_upvotes=7)

    first = paper_vote_by_arxiv_id(arxiv_id="2612.00042", user=alice, upvote=True)
    again = paper_vote_by_arxiv_id(arxiv_id="2612.00042", user=alice, upvote=True)
    bobs = paper_vote_by_arxiv_id(arxiv_id="2612.00042", user=bob, upvote=True)
    back = paper_vote_by_arxiv_id(arxiv_id="2612.00042", user=alice, upvote=False)
    back_again = paper_vote_by_arxiv_id(arxiv_id="2612.00042", user=alice, upvote=False)

    assert (first.upvoted, first.upvotes) == (True, 8)
    assert (again.upvoted, again.upvotes) == (True, 8)
    assert bobs.upvotes == 9
    assert (back.upvoted, back.upvotes) == (False, 8)
    assert (back_again.upvoted, back_again.upvotes) == (False, 8)
    paper.refresh_from_db()
    assert paper.upvote_count == Upvote.objects.count() == 1


def test_a_vote_by_arxiv_id_needs_a_visible_paper(alice):
    PaperFactory(arxiv_id="2612.00043", hidden=True)

    assert paper_vote_by_arxiv_id(arxiv_id="2612.00043", user=alice, upvote=True) is None
    assert paper_vote_by_arxiv_id(arxiv_id="2401.99999", user=alice, upvote=True) is None
    assert paper_vote_by_arxiv_id(arxiv_id="2401.99999", user=alice, upvote=False) is None
    assert Upvote.objects.count() == 0


@time_machine.travel(dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC), tick=False)
def test_a_vote_announces_its_paper_its_periods_and_its_member_only_when_it_changes(
    alice, monkeypatch, django_capture_on_commit_callbacks
):
    from caching.generations import generations

    paper = PaperFactory(arxiv_id="2612.00044", listed_on=dt.date(2026, 12, 3))
    bumps: list[tuple[set[str], set[str], dict[str, str]]] = []
    monkeypatch.setattr(
        generations,
        "bump",
        lambda soft=(), hard=(), facts=None: bumps.append((set(soft), set(hard), facts)),
    )
    calls = [
        lambda: paper_upvote(paper=paper, user=alice),
        lambda: paper_upvote(paper=paper, user=alice),
        lambda: paper_vote_by_arxiv_id(arxiv_id="2612.00044", user=alice, upvote=False),
        lambda: paper_vote_by_arxiv_id(arxiv_id="2612.00044", user=alice, upvote=False),
        lambda: paper_vote_by_arxiv_id(arxiv_id="2612.00044", user=alice, upvote=True),
    ]
    announced = []
    for call in calls:
        before = len(bumps)
        with django_capture_on_commit_callbacks(execute=True):
            call()
        announced.append(len(bumps) - before)

    assert announced == [1, 0, 1, 0, 1]
    soft = {"paper:2612.00044", "day:2026-12-03", "week:2026-W49", "month:2026-12", "recent"}
    member = {f"votes:{alice.pk}"}
    assert bumps == [
        (soft, member, {f"votes:{paper.pk}": "1"}),
        (soft, member, {f"votes:{paper.pk}": "0"}),
        (soft, member, {f"votes:{paper.pk}": "1"}),
    ]


def test_a_vote_keeps_the_papers_counter_current(alice):
    paper = PaperFactory(source_upvotes=3)

    paper_upvote(paper=paper, user=alice)
    assert paper.upvote_count == 1
    paper_unvote(paper=paper, user=alice)
    assert paper.upvote_count == 0


@pytest.mark.postgres
def test_a_vote_is_one_statement_with_no_savepoint_or_second_read(alice):
    paper = PaperFactory(arxiv_id="2612.00045")
    calls = {
        "upvote": lambda: paper_upvote(paper=paper, user=alice),
        "upvote again": lambda: paper_upvote(paper=paper, user=alice),
        "unvote": lambda: paper_unvote(paper=paper, user=alice),
        "by arXiv id": lambda: paper_vote_by_arxiv_id(
            arxiv_id="2612.00045", user=alice, upvote=True
        ),
        "unknown paper": lambda: paper_vote_by_arxiv_id(
            arxiv_id="2401.99999", user=alice, upvote=True
        ),
    }
    for name, call in calls.items():
        with CaptureQueriesContext(connection) as queries:
            call()
        statements = [q["sql"] for q in queries.captured_queries]
        assert len(statements) == 1, (name, statements)
        assert "SAVEPOINT" not in statements[0].upper(), name


@pytest.mark.postgres
def test_the_vote_statement_is_prepared_after_a_few_runs(alice):
    paper = PaperFactory(arxiv_id="2612.00046")
    for _ in range(6):  # psycopg prepares a statement after 5 runs on a connection
        paper_vote_by_arxiv_id(arxiv_id=paper.arxiv_id, user=alice, upvote=True)
        paper_vote_by_arxiv_id(arxiv_id=paper.arxiv_id, user=alice, upvote=False)

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any("INSERT INTO papers_upvote" in sql for sql in prepared)
    assert any("DELETE FROM papers_upvote" in sql for sql in prepared)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_votes_still_work_after_the_connection_was_closed(alice):
    paper = PaperFactory(arxiv_id="2612.00047")
    paper_vote_by_arxiv_id(arxiv_id=paper.arxiv_id, user=alice, upvote=True)

    connection.close()  # as CONN_MAX_AGE does: the kept cursor belongs to the old one

    state = paper_vote_by_arxiv_id(arxiv_id=paper.arxiv_id, user=alice, upvote=False)
    assert (state.upvoted, state.upvotes) == (False, 0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_storm_of_toggles_on_a_few_hot_papers_never_drifts():
    """Forty members toggle their votes on three papers at once, as the upvote storm does;
    every answer carries the state the member asked for, and at the end each counter equals
    its rows, which are exactly the votes each member last cast."""
    papers = [PaperFactory(source_upvotes=5) for _ in range(3)]
    members = UserFactory.create_batch(40)
    answers_wrong: list[str] = []
    final: dict[tuple[int, int], bool] = {}

    def storm(index: int) -> None:
        rng = random.Random(index)
        member = members[index]
        voted: dict[int, bool] = {}
        for _ in range(25):
            paper = rng.choice(papers)
            upvote = not voted.get(paper.pk, False)
            state = paper_vote_by_arxiv_id(arxiv_id=paper.arxiv_id, user=member, upvote=upvote)
            if state is None or state.upvoted is not upvote or state.upvotes < 5:
                answers_wrong.append(f"{member.username} {paper.arxiv_id}: {state}")
            voted[paper.pk] = upvote
        for paper_pk, up in voted.items():
            final[(member.pk, paper_pk)] = up

    _in_threads(40, storm)

    assert answers_wrong == []
    for paper in papers:
        paper.refresh_from_db()
        rows = set(Upvote.objects.filter(paper=paper).values_list("user_id", flat=True))
        assert paper.upvote_count == len(rows)
        assert rows == {user for (user, p), up in final.items() if p == paper.pk and up}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_member_voting_and_unvoting_from_many_tabs_at_once_never_drifts():
    paper = PaperFactory()
    member = UserFactory()

    _in_threads(
        24,
        lambda i: [
            paper_vote_by_arxiv_id(arxiv_id=paper.arxiv_id, user=member, upvote=i % 2 == 0)
            for _ in range(10)
        ],
    )

    rows = Upvote.objects.filter(paper=paper).count()
    assert rows in (0, 1)
    assert Paper.objects.get(pk=paper.pk).upvote_count == rows


def test_deleting_a_member_counts_their_votes_out(alice, bob):
    first, second = PaperFactory(), PaperFactory()
    for member in (alice, bob):
        paper_upvote(paper=first, user=member)
    paper_upvote(paper=second, user=alice)

    alice.delete()

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.upvote_count, second.upvote_count) == (1, 0)
    assert first.upvotes.count() == 1

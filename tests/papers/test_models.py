from __future__ import annotations

import threading

import pytest
from django.db import IntegrityError, close_old_connections, connection, transaction

from papers.models import Paper, Upvote
from tests.factories import PaperFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_second_upvote_by_same_user_is_rejected_by_the_database(alice):
    paper = PaperFactory()
    Upvote.objects.create(user=alice, paper=paper)

    with pytest.raises(IntegrityError), transaction.atomic():
        Upvote.objects.create(user=alice, paper=paper)

    assert Upvote.objects.count() == 1


def test_two_members_may_upvote_the_same_paper(alice, bob):
    paper = PaperFactory()
    Upvote.objects.create(user=alice, paper=paper)
    Upvote.objects.create(user=bob, paper=paper)

    assert paper.upvotes.count() == 2


def test_empty_title_is_refused_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        PaperFactory(title="")


def test_votes_add_local_and_source_upvotes():
    paper = PaperFactory.build(upvote_count=3, source_upvotes=40)

    assert paper.votes == 43
    assert paper.arxiv_url == f"https://arxiv.org/abs/{paper.arxiv_id}"


def test_by_votes_orders_by_local_plus_source_votes():
    low = PaperFactory(upvote_count=5, source_upvotes=0)
    high = PaperFactory(upvote_count=1, source_upvotes=10)
    hidden = PaperFactory(upvote_count=100, hidden=True)

    assert list(Paper.objects.visible().by_votes()) == [high, low]
    assert hidden not in Paper.objects.visible()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_upvotes_leave_exactly_one_row():
    paper = PaperFactory()
    user = UserFactory()
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def vote() -> None:
        try:
            barrier.wait()
            Upvote.objects.create(user=user, paper=paper)
            outcomes.append("created")
        except IntegrityError:
            outcomes.append("refused")
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=vote) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["created"] + ["refused"] * 7
    assert Upvote.objects.filter(user=user, paper=paper).count() == 1


@pytest.mark.postgres
def test_search_vector_weighs_title_over_abstract():
    from django.contrib.postgres.search import SearchQuery, SearchRank

    in_title = PaperFactory(title="Quantum annealing schedules", abstract="Nothing here.")
    in_abstract = PaperFactory(title="Something else", abstract="We study quantum annealing.")
    PaperFactory(title="Unrelated", abstract="Unrelated too.")

    query = SearchQuery("quantum annealing", config="english")
    ranked = list(
        Paper.objects.filter(search_vector=query)
        .annotate(rank=SearchRank("search_vector", query))
        .order_by("-rank")
    )

    assert ranked == [in_title, in_abstract]


@pytest.mark.postgres
def test_search_vector_covers_authors_and_keywords_and_follows_updates():
    paper = PaperFactory(authors=[{"name": "Grace Hopper"}], ai_keywords=["compilers"])

    assert Paper.objects.filter(search_vector="hopper").get() == paper
    assert Paper.objects.filter(search_vector="compilers").get() == paper

    Paper.objects.filter(pk=paper.pk).update(title="Bulk updated zeppelins")
    assert Paper.objects.filter(search_vector="zeppelin").get() == paper


@pytest.mark.postgres
def test_search_vector_has_a_gin_index():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'papers_paper' "
            "AND indexname = 'papers_paper_search_gin'"
        )
        (definition,) = cursor.fetchone()
    assert "USING gin (search_vector)" in definition

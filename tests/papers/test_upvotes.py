from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from papers.models import Paper, Upvote
from papers.services import paper_toggle_upvote, paper_unvote, paper_upvote
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

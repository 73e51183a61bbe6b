"""Upvotes through the API: idempotent, counted with the source's votes, members only,
exact under concurrency."""

from __future__ import annotations

import threading
from http import HTTPStatus

import pytest
from django.db import connection
from django.test import Client

from accounts.services import api_token_create
from papers.models import Paper, Upvote
from tests.api.conftest import bearer
from tests.factories import PaperFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/papers/2606.00001/upvote"


@pytest.fixture
def paper():
    return PaperFactory(arxiv_id="2606.00001", source_upvotes=7)


def test_a_second_upvote_keeps_one_vote(client, paper, alice_token):
    first = client.post(URL, headers=bearer(alice_token))
    second = client.post(URL, headers=bearer(alice_token))

    assert first.status_code == second.status_code == HTTPStatus.OK
    assert first.json() == second.json() == {"upvoted": True, "upvotes": 8}
    paper.refresh_from_db()
    assert paper.upvote_count == Upvote.objects.count() == 1


def test_taking_back_a_vote_twice_leaves_none(client, paper, alice_token):
    client.post(URL, headers=bearer(alice_token))

    first = client.delete(URL, headers=bearer(alice_token))
    second = client.delete(URL, headers=bearer(alice_token))

    assert first.json() == second.json() == {"upvoted": False, "upvotes": 7}
    paper.refresh_from_db()
    assert paper.upvote_count == Upvote.objects.count() == 0


def test_votes_of_several_members_add_up(client, paper, alice_token, bob_token):
    client.post(URL, headers=bearer(alice_token))

    response = client.post(URL, headers=bearer(bob_token))

    assert response.json() == {"upvoted": True, "upvotes": 9}


def test_an_upvote_by_versioned_id_counts_for_the_paper(client, paper, alice_token):
    response = client.post("/api/papers/2606.00001v3/upvote", headers=bearer(alice_token))

    assert response.json()["upvoted"] is True
    assert Upvote.objects.get().paper == paper


def test_upvoting_an_unknown_or_hidden_paper_is_a_404(client, alice_token):
    PaperFactory(arxiv_id="2606.00002", hidden=True)

    unknown = client.post("/api/papers/2401.99999/upvote", headers=bearer(alice_token))
    hidden = client.post("/api/papers/2606.00002/upvote", headers=bearer(alice_token))

    assert unknown.status_code == hidden.status_code == HTTPStatus.NOT_FOUND
    assert unknown.json() == {"error": "Paper not found"}
    assert Upvote.objects.count() == 0


def test_upvoting_needs_a_member(client, paper):
    post = client.post(URL)
    delete = client.delete(URL)

    assert post.status_code == delete.status_code == HTTPStatus.UNAUTHORIZED
    assert Upvote.objects.count() == 0


def test_a_browser_session_needs_the_csrf_token(alice, paper):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)

    response = browser.post(URL)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "CSRF" in response.json()["error"]
    assert Upvote.objects.count() == 0


def test_an_upvote_shows_at_once_in_the_reads(
    client, paper, alice_token, django_capture_on_commit_callbacks
):
    before = client.get("/api/papers/2606.00001").json()["upvotes"]

    with django_capture_on_commit_callbacks(execute=True):
        client.post(URL, headers=bearer(alice_token))

    # The feed version moves when the vote commits: the cached read is not served.
    after = client.get("/api/papers/2606.00001").json()["upvotes"]
    assert (before, after) == (7, 8)


def _run_together(calls: list) -> list:
    """Run the calls in threads released at the same moment; each uses its own database
    connection and closes it."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = calls[index]()
        except Exception as exc:  # reported by the assertions below
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_members_upvoting_at_once_count_exactly():
    paper = PaperFactory(arxiv_id="2606.00001")
    tokens = [api_token_create(user=UserFactory(), name="t").plaintext for _ in range(20)]

    def upvote(token: str):
        return lambda: Client().post(URL, headers=bearer(token)).status_code

    statuses = _run_together([upvote(token) for token in tokens])

    assert statuses == [HTTPStatus.OK] * 20
    paper.refresh_from_db()
    assert paper.upvote_count == Upvote.objects.filter(paper=paper).count() == 20


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_members_upvoting_twice_at_once_and_taking_back_count_exactly():
    paper = PaperFactory(arxiv_id="2606.00001")
    tokens = [api_token_create(user=UserFactory(), name="t").plaintext for _ in range(10)]

    def call(method: str, token: str):
        return lambda: getattr(Client(), method)(URL, headers=bearer(token)).status_code

    twice = _run_together([call("post", t) for t in tokens for _ in range(2)])
    paper.refresh_from_db()
    after_votes = (paper.upvote_count, Upvote.objects.count())
    back = _run_together([call("delete", t) for t in tokens[:5] for _ in range(2)])
    paper.refresh_from_db()

    assert twice == [HTTPStatus.OK] * 20
    assert back == [HTTPStatus.OK] * 10
    assert after_votes == (10, 10)
    assert paper.upvote_count == Upvote.objects.count() == 5
    assert Paper.objects.get(pk=paper.pk).upvote_count == 5


@pytest.mark.postgres
def test_an_api_vote_is_two_statements_the_token_and_the_vote(
    client, paper, alice_token, django_assert_num_queries
):
    client.post(URL, headers=bearer(alice_token))  # records the token's use (a third one)

    with django_assert_num_queries(2) as upvote:
        response = client.delete(URL, headers=bearer(alice_token))
    assert response.json() == {"upvoted": False, "upvotes": 7}
    with django_assert_num_queries(2):
        client.post(URL, headers=bearer(alice_token))
    with django_assert_num_queries(2):
        client.post(URL, headers=bearer(alice_token))  # no change: still one statement
    with django_assert_num_queries(2):
        missing = client.post("/api/papers/2401.99999/upvote", headers=bearer(alice_token))

    assert missing.status_code == HTTPStatus.NOT_FOUND
    token_lookup, vote = (q["sql"] for q in upvote.captured_queries)
    assert "accounts_apitoken" in token_lookup
    assert "papers_upvote" in vote
    assert "SAVEPOINT" not in vote.upper()


def test_a_vote_answers_json_whatever_the_client_accepts(client, paper, alice_token):
    response = client.post(URL, headers={**bearer(alice_token), "Accept": "text/html"})

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"upvoted": True, "upvotes": 8}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_members_toggling_votes_on_hot_papers_through_the_api_never_drift():
    """A small upvote storm through the API: each call answers the state it asked for, and
    every counter equals its rows at the end."""
    papers = [PaperFactory(arxiv_id=f"2606.0010{n}", source_upvotes=3) for n in range(3)]
    tokens = [api_token_create(user=UserFactory(), name="t").plaintext for _ in range(12)]

    def member(index: int, token: str):
        def run() -> list[str]:
            browser, wrong = Client(), []
            voted: dict[str, bool] = {}
            for step in range(12):
                arxiv_id = papers[(index + step * 7) % len(papers)].arxiv_id
                up = not voted.get(arxiv_id, False)
                method = browser.post if up else browser.delete
                answer = method(f"/api/papers/{arxiv_id}/upvote", headers=bearer(token))
                if answer.status_code != HTTPStatus.OK or answer.json()["upvoted"] is not up:
                    wrong.append(f"{arxiv_id} {answer.status_code} {answer.content!r}")
                voted[arxiv_id] = up
            return wrong

        return run

    results = _run_together([member(i, token) for i, token in enumerate(tokens)])

    assert results == [[]] * len(tokens)
    for paper in papers:
        paper.refresh_from_db()
        assert paper.upvote_count == Upvote.objects.filter(paper=paper).count()

"""The read endpoints: parameters and their errors, our own list's filters and cursor,
query budgets, and conditional requests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from http import HTTPStatus

import pytest
from django.utils import timezone

from papers.models import Paper
from papers.services.votes import paper_upvote
from tests.api.conftest import bearer
from tests.factories import PaperFactory, UpvoteFactory, UserFactory

pytestmark = pytest.mark.django_db

DAY = "2026-06-12"
LIST_ENDPOINTS = [
    "/api/daily_papers?date={today}&limit=50",
    "/api/daily_papers?sort=trending&limit=50",
    "/api/daily_papers?limit=50",
    "/api/papers/search?q=paper&limit=50",
    "/api/papers?limit=50",
]


@pytest.fixture
def steady_clock(time_machine):
    """The start of a five-minute cache window, so a test's reads all fall in one."""
    time_machine.move_to(datetime(2026, 6, 12, 12, 0, tzinfo=UTC), tick=True)
    return time_machine


@pytest.fixture
def fifty_papers():
    """50 papers listed today, each with its own submitter and a claimed author."""
    return [
        PaperFactory(
            listed_on=timezone.now().date(),
            title=f"Paper number {n}",
            submitted_by=UserFactory(),
            authors=[{"name": "Ada Lovelace", "hf_user": "ada"}, {"name": "Alan Turing"}],
            github_repo="https://github.com/example/code" if n % 2 else "",
            source_upvotes=n,
        )
        for n in range(50)
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("date=2026-13-01", "date: 2026-13-01 is not a valid date."),
        ("date=12-06-2026", "date: Use YYYY-MM-DD."),
        ("week=2026-W54", "week: 2026-W54 is not a valid week."),
        ("week=9999-W52", "week: 9999-W52 is not a valid week."),  # ends after year 9999
        ("month=2026-13", "month: 2026-13 is not a valid month."),
        ("date=2026-06-12&week=2026-W24", "Give at most one of date, week and month."),
        ("limit=0", "limit: Ensure this value is greater than or equal to 1."),
        ("limit=101", "limit: Ensure this value is less than or equal to 100."),
        ("limit=ten", "limit: A valid integer is required."),
        ("p=-1", "p: Ensure this value is greater than or equal to 0."),
        ("sort=votes", 'sort: "votes" is not a valid choice.'),
    ],
)
def test_bad_daily_papers_parameters_are_a_400_with_the_reason(client, query, message):
    response = client.get(f"/api/daily_papers?{query}")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"error": message}


def test_daily_papers_is_a_bare_array_and_empty_for_a_day_without_papers(client, demo):
    response = client.get("/api/daily_papers", {"date": "2026-06-13"})

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "application/json"
    assert response.json() == []


def test_daily_papers_hides_papers_hidden_by_moderators(client, demo):
    Paper.objects.filter(arxiv_id="2606.13681").update(hidden=True)

    ids = [i["paper"]["id"] for i in client.get("/api/daily_papers?date=2026-06-12").json()]

    assert len(ids) == 29
    assert "2606.13681" not in ids
    assert client.get("/api/papers/2606.13681").status_code == HTTPStatus.NOT_FOUND


def test_upvotes_are_local_plus_source_votes(client, demo, alice, bob):
    paper = Paper.objects.get(arxiv_id="2606.13681")  # 118 votes on Hugging Face
    paper_upvote(paper=paper, user=alice)
    paper_upvote(paper=paper, user=bob)

    info = client.get("/api/papers/2606.13681").json()
    item = next(
        i
        for i in client.get("/api/daily_papers?date=2026-06-12").json()
        if i["title"] == info["title"]
    )

    assert info["upvotes"] == item["paper"]["upvotes"] == item["upvotes"] == 120


def test_times_are_written_in_utc_with_milliseconds(client):
    PaperFactory(
        arxiv_id="2606.00001", published_at=datetime(2026, 6, 11, 9, 8, 7, 654321, tzinfo=UTC)
    )

    item = client.get("/api/daily_papers?date=2026-06-12").json()[0]

    assert item["publishedAt"] == item["paper"]["publishedAt"] == "2026-06-11T09:08:07.654Z"
    assert item["paper"]["submittedOnDailyAt"] == "2026-06-12T00:00:00.000Z"


def test_paper_info_takes_old_style_and_versioned_ids(client):
    PaperFactory(arxiv_id="hep-th/9901001")
    PaperFactory(arxiv_id="2606.00002")

    assert client.get("/api/papers/hep-th/9901001").json()["id"] == "hep-th/9901001"
    assert client.get("/api/papers/hep-th/9901001v3").json()["id"] == "hep-th/9901001"
    assert client.get("/api/papers/2606.00002v2").json()["id"] == "2606.00002"
    response = client.get("/api/papers/not-an-id")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {"error": "Paper not found"}


def test_an_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/models")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {"error": "Not found"}


def test_search_finds_a_paper_by_its_arxiv_id_or_url(client, demo):
    by_id = client.get("/api/papers/search", {"q": "2606.00467"}).json()
    by_url = client.get("/api/papers/search", {"q": "https://arxiv.org/abs/2606.00467v1"}).json()

    assert by_id[0]["paper"]["id"] == by_url[0]["paper"]["id"] == "2606.00467"


def test_search_says_which_results_the_caller_upvoted(client, demo, alice, alice_token):
    paper_upvote(paper=Paper.objects.get(arxiv_id="2606.13681"), user=alice)

    as_alice = client.get("/api/papers/search?q=EvoArena", headers=bearer(alice_token))
    anonymous = client.get("/api/papers/search?q=EvoArena")

    assert as_alice.json()[0]["upvoted"] is True
    assert anonymous.json()[0]["upvoted"] is False
    assert as_alice["ETag"] != anonymous["ETag"]
    assert as_alice["Cache-Control"] == "private, no-cache"
    assert "Authorization" in as_alice["Vary"]


def test_search_without_a_query_lists_the_latest_papers(client, demo):
    PaperFactory(arxiv_id="2606.00003", listed_on="2026-06-13")

    results = client.get("/api/papers/search", {"limit": 3}).json()

    assert results[0]["paper"]["id"] == "2606.00003"
    assert len(results) == 3


def test_public_reads_ignore_a_token_that_is_not_ours(client, demo):
    """huggingface_hub sends the user's huggingface.co token wherever it is pointed."""
    response = client.get("/api/daily_papers?date=2026-06-12", headers=bearer("hf_NotOurs"))

    assert response.status_code == HTTPStatus.OK
    assert len(response.json()) == 30


# --- our own list -------------------------------------------------------------------------


def test_paper_list_filters_by_listing_dates(client):
    PaperFactory(arxiv_id="2606.00010", listed_on=date(2026, 6, 1))
    PaperFactory(arxiv_id="2606.00011", listed_on=date(2026, 6, 5))
    PaperFactory(arxiv_id="2606.00012", listed_on=date(2026, 6, 9))

    response = client.get("/api/papers", {"since": "2026-06-02", "until": "2026-06-09"})

    assert [p["arxiv_id"] for p in response.json()["results"]] == ["2606.00012", "2606.00011"]


def test_paper_list_filters_by_code_and_votes(client, alice):
    with_code = PaperFactory(github_repo="https://github.com/a/b", source_upvotes=5)
    without = PaperFactory(source_upvotes=1)
    UpvoteFactory(paper=without, user=alice)
    Paper.objects.filter(pk=without.pk).update(upvote_count=1)

    def ids(**query):
        return {p["arxiv_id"] for p in client.get("/api/papers", query).json()["results"]}

    assert ids(has_github="true") == {with_code.arxiv_id}
    assert ids(has_github="false") == {without.arxiv_id}
    assert ids() == {with_code.arxiv_id, without.arxiv_id}
    assert ids(min_upvotes=2) == {with_code.arxiv_id, without.arxiv_id}  # 1 local + 1 source
    assert ids(min_upvotes=3) == {with_code.arxiv_id}


def test_paper_list_filters_by_text(client, demo):
    results = client.get("/api/papers", {"q": "EvoArena"}).json()["results"]

    assert [p["arxiv_id"] for p in results] == ["2606.13681"]
    assert results[0]["upvotes"] == 118
    assert results[0]["submitter"] == {
        "username": "zhiyuanhucs",
        "fullname": results[0]["submitter"]["fullname"],
        "source": "huggingface",
    }


def test_paper_list_pages_with_a_cursor_through_every_paper_once(client, fifty_papers):
    PaperFactory.create_batch(3, listed_on=date(2026, 6, 13))
    Paper.objects.filter(pk__in=[p.pk for p in fifty_papers[:20]]).update(listed_on=DAY)
    seen: list[str] = []
    url = "/api/papers?limit=7"
    while url:
        page = client.get(url).json()
        assert len(page["results"]) <= 7
        seen += [p["arxiv_id"] for p in page["results"]]
        url = page["next"]

    assert len(seen) == len(set(seen)) == 53
    expected = Paper.objects.order_by("-listed_on", "-id").values_list("arxiv_id", flat=True)
    assert seen == list(expected)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("since=yesterday", "since: Date has wrong format."),
        ("has_github=maybe", "has_github: Must be a valid boolean."),
        ("min_upvotes=-1", "min_upvotes: Ensure this value is greater than or equal to 0."),
    ],
)
def test_bad_paper_list_parameters_are_a_400(client, query, message):
    response = client.get(f"/api/papers?{query}")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["error"].startswith(message)


def test_a_bad_cursor_is_a_404(client):
    response = client.get("/api/papers", {"cursor": "garbage"})

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {"error": "Invalid cursor"}


# --- budgets and caching ------------------------------------------------------------------


@pytest.mark.parametrize("url", LIST_ENDPOINTS)
def test_a_list_costs_at_most_six_queries_whatever_its_length(
    client, fifty_papers, alice_token, url, django_assert_max_num_queries
):
    url = url.format(today=timezone.now().date())
    with django_assert_max_num_queries(6):
        anonymous = client.get(url)
    with django_assert_max_num_queries(6):
        member = client.get(url, headers=bearer(alice_token))

    assert anonymous.status_code == member.status_code == HTTPStatus.OK
    body = anonymous.json()
    assert len(body["results"] if isinstance(body, dict) else body) == 50


def test_a_repeated_read_is_answered_from_the_cache(
    client, demo, steady_clock, django_assert_num_queries
):
    first = client.get("/api/daily_papers?date=2026-06-12")

    with django_assert_num_queries(0):
        again = client.get("/api/daily_papers?date=2026-06-12")

    assert again.content == first.content


@pytest.mark.parametrize(
    "url", ["/api/daily_papers?date=2026-06-12", "/api/papers/2606.00467", "/api/papers?limit=50"]
)
def test_a_conditional_read_is_a_304_until_something_changes(
    client, demo, alice, url, steady_clock, django_capture_on_commit_callbacks
):
    first = client.get(url)
    etag = first["ETag"]

    unchanged = client.get(url, headers={"If-None-Match": etag})
    weak = client.get(url, headers={"If-None-Match": f'W/{etag}, "other"'})
    with django_capture_on_commit_callbacks(execute=True):
        paper_upvote(paper=Paper.objects.get(arxiv_id="2606.00467"), user=alice)
    changed = client.get(url, headers={"If-None-Match": etag})

    assert first.status_code == HTTPStatus.OK
    assert unchanged.status_code == weak.status_code == HTTPStatus.NOT_MODIFIED
    assert unchanged.content == b""
    assert unchanged["ETag"] == etag
    assert changed.status_code == HTTPStatus.OK
    assert changed["ETag"] != etag
    assert changed.content != first.content  # the new vote shows


def test_a_head_request_answers_with_the_headers_of_a_get(client, demo, steady_clock):
    get = client.get("/api/daily_papers?date=2026-06-12")
    head = client.head("/api/daily_papers?date=2026-06-12")

    assert head.status_code == HTTPStatus.OK
    assert head["ETag"] == get["ETag"]
    assert head.content == b""


def test_a_kept_answer_reaches_an_anonymous_caller_before_drf_with_drfs_headers(
    client, demo, django_assert_num_queries, monkeypatch
):
    from rest_framework.views import APIView

    first = client.get("/api/daily_papers?date=2026-06-12", HTTP_ACCEPT_ENCODING="gzip")
    handled = []
    initial = APIView.initial
    monkeypatch.setattr(APIView, "initial", lambda *a, **k: handled.append(1) or initial(*a, **k))
    with django_assert_num_queries(0):
        kept = client.get("/api/daily_papers?date=2026-06-12", HTTP_ACCEPT_ENCODING="gzip")
    with_token = client.get("/api/daily_papers?date=2026-06-12", HTTP_AUTHORIZATION="Bearer x")

    assert handled == [1]  # only the caller with a token went through DRF
    assert with_token.status_code == HTTPStatus.OK
    assert kept.status_code == first.status_code == HTTPStatus.OK
    assert kept.content == first.content
    for header in ("Allow", "Vary", "ETag", "Content-Type", "Content-Encoding", "Cache-Control"):
        assert kept[header] == first[header], header

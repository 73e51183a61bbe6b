"""Hugging Face daily papers: the client against a real local server and the recorded payload."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, date, datetime

import pytest
from werkzeug import Request, Response

from papers.sources import hf
from papers.sources.http import USER_AGENT
from papers.sources.records import Author, PaperRecord, RejectedRecord, SourceError
from tests.conftest import HF_DAILY

DAY = date(2026, 6, 12)
PATH = "/api/daily_papers"


@pytest.fixture
def daily_items() -> list[dict]:
    return json.loads(HF_DAILY.read_text(encoding="utf-8"))


@pytest.fixture
def hf_server(httpserver, settings):
    """The local server stands in for huggingface.co."""
    settings.HF_API_URL = httpserver.url_for("").rstrip("/")
    return httpserver


def by_id(items) -> dict[str, PaperRecord]:
    return {item.arxiv_id: item for item in items if isinstance(item, PaperRecord)}


def paged_handler(items: list[dict]):
    """Answer like the real API: page `p` (from 0) of `limit` items."""

    def handle(request: Request) -> Response:
        page = int(request.args["p"])
        limit = int(request.args["limit"])
        chunk = items[page * limit : (page + 1) * limit]
        return Response(json.dumps(chunk), content_type="application/json")

    return handle


def wait_for_requests(server, count: int, timeout: float = 3.0) -> None:
    """Let a single-threaded server finish requests a client gave up on."""
    deadline = time.monotonic() + timeout
    while len(server.log) < count and time.monotonic() < deadline:
        time.sleep(0.01)


# --- the recorded payload, field by field ---------------------------------------------------


def test_recorded_day_gives_thirty_records_and_no_rejections(hf_server, daily_items):
    hf_server.expect_request(PATH).respond_with_json(daily_items)

    items = hf.fetch_daily_papers(DAY)

    assert len(items) == 30
    assert all(isinstance(item, PaperRecord) for item in items)
    assert [item.arxiv_id for item in items] == [i["paper"]["id"] for i in daily_items]
    assert {item.source for item in items} == {"hf"}


def test_caltech_paper_reads_field_by_field(hf_server, daily_items):
    hf_server.expect_request(PATH).respond_with_json(daily_items)

    paper = by_id(hf.fetch_daily_papers(DAY))["2606.00467"]

    assert paper.version is None
    assert paper.title == (
        "On the Limits of LLM Adaptability: Impact of Model-Internalized Priors on "
        "Annotation Task Performance"
    )
    assert paper.abstract.startswith(
        "Large Language Models (LLMs) are increasingly used for zero-shot annotation and "
        "LLM-as-a-judge tasks"
    )
    assert [a.name for a in paper.authors] == [
        "Etienne Casanova",
        "Rafal Kocielnik",
        "R. Michael Alvarez",
    ]
    assert all(a.hf_user is None for a in paper.authors)
    # paper.publishedAt, not the list entry's own publishedAt (2026-05-29T20:00Z)
    assert paper.published_at == datetime(2026, 5, 30, tzinfo=UTC)
    assert paper.published_at.utcoffset().total_seconds() == 0
    assert paper.listed_on == date(2026, 6, 12)
    assert paper.source_upvotes == 0
    assert paper.source_comments == 2
    assert paper.github_repo is None
    assert paper.github_stars is None
    assert paper.project_page is None
    assert paper.ai_summary.startswith(
        "Large language models exhibit limited ability to correct zero-shot errors"
    )
    assert paper.ai_keywords[:4] == [
        "zero-shot annotation",
        "LLM-as-a-judge",
        "model-internalized priors",
        "decision stickiness",
    ]
    assert len(paper.ai_keywords) == 14
    assert paper.thumbnail_url == (
        "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2606.00467.png"
    )
    assert paper.organization["name"] == "caltech"
    assert paper.organization["fullname"] == "California institute of technology"
    # submittedBy has no `user` key: its `name` is the username.
    assert paper.source_submitter["user"] == "RKocielnik"
    assert paper.source_submitter["fullname"] == "Rafal Kocielnik"
    assert paper.primary_category == ""
    assert paper.categories == []


def test_webchallenger_paper_has_repo_project_page_and_a_claimed_author(hf_server, daily_items):
    hf_server.expect_request(PATH).respond_with_json(daily_items)

    paper = by_id(hf.fetch_daily_papers(DAY))["2606.10423"]

    assert paper.title == "WebChallenger: A Reliable and Efficient Generalist Web Agent"
    assert paper.abstract.startswith("Autonomous web navigation remains challenging for LLM agents")
    assert paper.authors == [
        Author(name="Jayoo Hwang", hf_user="jayoohwang"),
        Author(name="Xiaowen Zhang"),
        Author(name="Vedant Padwal"),
    ]
    assert paper.published_at == datetime(2026, 6, 9, tzinfo=UTC)
    assert paper.listed_on == date(2026, 6, 12)
    assert paper.source_upvotes == 2
    assert paper.source_comments == 2
    assert paper.github_repo == "https://github.com/jayoohwang1/webchallenger"
    assert paper.github_stars == 2
    assert paper.project_page == "https://jayoohwang1.github.io/webchallenger-site/"
    assert paper.ai_summary.startswith("WebChallenger presents a web agent framework")
    assert paper.ai_keywords == [
        "PageMem",
        "DOM",
        "structured page representation",
        "divide-and-conquer observation pipeline",
        "exploration and memory system",
        "compound action workflows",
        "web agent framework",
        "autonomous web navigation",
    ]
    assert paper.thumbnail_url.endswith("/papers/2606.10423.png")
    assert paper.organization is None
    assert paper.source_submitter == {
        "user": "jayoohwang",
        "fullname": "Jayoo Hwang",
        "avatarUrl": "/avatars/f8fe3836bb9e19db8c53c5eb503a5ad2.svg",
    }


def test_minimax_paper_keeps_eleven_authors_in_order_with_their_accounts(hf_server, daily_items):
    hf_server.expect_request(PATH).respond_with_json(daily_items)

    paper = by_id(hf.fetch_daily_papers(DAY))["2606.13392"]

    assert paper.title == "MiniMax Sparse Attention"
    assert paper.abstract.startswith("Ultra-long-context capability is becoming indispensable")
    assert [(a.name, a.hf_user) for a in paper.authors] == [
        ("Xunhao Lai", "Xunhaolai"),
        ("Weiqi Xu", "xiaoxiaoOWO"),
        ("Yufeng Yang", None),
        ("Qiaorui Chen", None),
        ("Yang Xu", None),
        ("Lunbin Zeng", "xiazhi"),
        ("Xiaolong Li", None),
        ("Haohai Sun", "HaohaiSun"),
        ("Haichao Zhu", None),
        ("Vito Zhang", None),
        ("Pengyu Zhao", None),
    ]
    assert paper.published_at == datetime(2026, 6, 11, tzinfo=UTC)
    assert paper.source_upvotes == 103
    assert paper.source_comments == 4
    assert paper.github_repo == "https://github.com/MiniMax-AI/MSA"
    assert paper.github_stars == 251
    assert paper.project_page is None
    assert paper.ai_keywords[0] == "sparse attention"
    assert paper.organization["name"] == "MiniMaxAI"
    assert paper.organization["fullname"] == "MiniMax"
    assert paper.source_submitter["user"] == "ryanlee-dev"


def test_author_who_hid_the_paper_from_their_profile_stays_an_author(hf_server, daily_items):
    hf_server.expect_request(PATH).respond_with_json(daily_items)

    paper = by_id(hf.fetch_daily_papers(DAY))["2606.12575"]

    names = [a.name for a in paper.authors]
    assert len(names) == 10
    assert names[2:5] == ["David Liu", "Dengyang Jiang", "Liangchen Li"]
    # The account link is what the author hid; it is not published.
    assert paper.authors[3] == Author(name="Dengyang Jiang")
    assert paper.authors[0] == Author(name="Dongyang Liu", hf_user="Cxxs")


# --- the request the client sends -----------------------------------------------------------


def test_request_carries_the_date_page_limit_and_user_agent(hf_server):
    hf_server.expect_request(PATH).respond_with_json([])

    assert hf.fetch_daily_papers(DAY) == []

    (request, _response), *rest = hf_server.log
    assert rest == []
    assert request.method == "GET"
    assert request.args["date"] == "2026-06-12"
    assert request.args["p"] == "0"
    assert request.args["limit"] == str(hf.PAGE_SIZE)
    assert request.headers["User-Agent"] == USER_AGENT
    assert request.headers["User-Agent"].startswith("DailyPapers/")


# --- paging --------------------------------------------------------------------------------


def test_thirty_papers_in_pages_of_ten_come_back_once_each(hf_server, daily_items):
    hf_server.expect_request(PATH).respond_with_handler(paged_handler(daily_items))

    items = hf.fetch_daily_papers(DAY, page_size=10)

    ids = [item.arxiv_id for item in items]
    assert len(ids) == 30
    assert len(set(ids)) == 30
    assert ids == [i["paper"]["id"] for i in daily_items]
    pages = [(r.args["p"], r.args["limit"], r.args["date"]) for r, _ in hf_server.log]
    # Three full pages, then the empty (short) page ends it.
    assert pages == [(str(p), "10", "2026-06-12") for p in range(4)]


def test_paging_stops_at_the_first_short_page(hf_server, daily_items):
    hf_server.expect_request(PATH).respond_with_handler(paged_handler(daily_items[:25]))

    items = hf.fetch_daily_papers(DAY, page_size=10)

    assert len(items) == 25
    assert [r.args["p"] for r, _ in hf_server.log] == ["0", "1", "2"]


def test_a_server_that_ignores_paging_is_not_asked_forever(hf_server, daily_items):
    hf_server.expect_request(PATH).respond_with_json(daily_items)

    items = hf.fetch_daily_papers(DAY, page_size=10)

    assert len(items) == 30
    assert len({item.arxiv_id for item in items}) == 30
    assert len(hf_server.log) == 2


def test_a_paper_that_moves_to_the_next_page_comes_back_once(hf_server, daily_items):
    pages = [daily_items[0:10], daily_items[9:19]]  # the 10th paper is on both pages

    def handle(request: Request) -> Response:
        page = int(request.args["p"])
        chunk = pages[page] if page < len(pages) else []
        return Response(json.dumps(chunk), content_type="application/json")

    hf_server.expect_request(PATH).respond_with_handler(handle)

    items = hf.fetch_daily_papers(DAY, page_size=10)

    ids = [item.arxiv_id for item in items]
    assert len(ids) == 19
    assert len(set(ids)) == 19


# --- failures ------------------------------------------------------------------------------


def test_a_500_is_retried_and_the_next_answer_is_used(hf_server, daily_items, settings):
    settings.SOURCE_RETRIES = 3
    hf_server.expect_ordered_request(PATH).respond_with_data("boom", status=500)
    hf_server.expect_ordered_request(PATH).respond_with_json(daily_items[:3])

    items = hf.fetch_daily_papers(DAY)

    assert [item.arxiv_id for item in items] == ["2606.00467", "2606.12730", "2606.13594"]
    assert [response.status_code for _, response in hf_server.log] == [500, 200]
    hf_server.check_assertions()


def test_a_server_that_never_answers_in_time_raises_a_timeout(hf_server, settings):
    settings.SOURCE_TIMEOUT_SECONDS = 0.2
    settings.SOURCE_RETRIES = 2
    release = threading.Event()

    def stall(request: Request) -> Response:
        release.wait(5)
        return Response("[]", content_type="application/json")

    hf_server.expect_request(PATH).respond_with_handler(stall)

    started = time.monotonic()
    try:
        with pytest.raises(SourceError, match="timed out") as caught:
            hf.fetch_daily_papers(DAY)
        elapsed = time.monotonic() - started
    finally:
        release.set()
        wait_for_requests(hf_server, 2)

    assert "timed out after 0.2 s" in str(caught.value)
    assert "2 tries" in str(caught.value)
    assert elapsed < 2
    assert len(hf_server.log) == 2


def test_a_404_is_not_retried(hf_server, settings):
    settings.SOURCE_RETRIES = 4
    hf_server.expect_request(PATH).respond_with_data("not found", status=404)

    with pytest.raises(SourceError, match="HTTP 404"):
        hf.fetch_daily_papers(DAY)

    assert len(hf_server.log) == 1


def test_a_body_that_is_not_json_raises(hf_server):
    hf_server.expect_request(PATH).respond_with_data(
        "<html><body>Bad gateway</body></html>", content_type="text/html"
    )

    with pytest.raises(SourceError, match="not JSON"):
        hf.fetch_daily_papers(DAY)


def test_a_json_object_instead_of_an_array_raises(hf_server):
    hf_server.expect_request(PATH).respond_with_json({"error": "Invalid date"})

    with pytest.raises(SourceError, match="expected a JSON array"):
        hf.fetch_daily_papers(DAY)


def test_absurdly_deep_json_raises_a_source_error_not_a_recursion_error(hf_server):
    hf_server.expect_request(PATH).respond_with_data("[" * 100_000, content_type="application/json")

    with pytest.raises(SourceError, match="not JSON"):
        hf.fetch_daily_papers(DAY)


# --- entries the parser cannot use ----------------------------------------------------------


def test_unusable_entries_are_rejected_with_a_reason_and_the_rest_kept(hf_server, daily_items):
    bad_keywords = json.loads(json.dumps(daily_items[1]))
    bad_keywords["paper"]["ai_keywords"] = "not a list"
    bad_upvotes = json.loads(json.dumps(daily_items[2]))
    bad_upvotes["paper"]["upvotes"] = "many"
    bad_date = json.loads(json.dumps(daily_items[3]))
    bad_date["paper"]["publishedAt"] = "yesterday"
    payload = [daily_items[0], "just a string", bad_keywords, bad_upvotes, bad_date, {"paper": {}}]
    hf_server.expect_request(PATH).respond_with_json(payload)

    items = hf.fetch_daily_papers(DAY)

    assert isinstance(items[0], PaperRecord)
    rejected = items[1:]
    assert all(isinstance(item, RejectedRecord) for item in rejected)
    assert [r.ref for r in rejected] == [
        "entry 1",
        "2606.12730",
        "2606.13594",
        "2606.13174",
        "entry 5",
    ]
    assert "expected an object" in rejected[0].reason
    assert "ai_keywords" in rejected[1].reason
    assert "upvotes" in rejected[2].reason
    assert "missing paper id" in rejected[4].reason


def test_flat_paper_object_reads_like_a_list_entry():
    paper = hf.parse_item(
        {
            "id": "2608.09888v2",
            "title": "  A   title\n split ",
            "summary": "An\nabstract.",
            "upvotes": 7,
            "authors": [{"name": " Ann  Author ", "hidden": False}, {"name": 3}, "junk"],
        }
    )

    assert paper.arxiv_id == "2608.09888"
    assert paper.version == 2
    assert paper.title == "A title split"
    assert paper.abstract == "An abstract."
    assert paper.authors == [Author(name="Ann Author")]
    assert paper.source_upvotes == 7
    assert paper.source_comments is None
    assert paper.thumbnail_url is None
    assert paper.ai_keywords is None

"""The unmodified huggingface_hub client against a live server: what it parses must be
what the database holds, field by field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import pytest
from django.core.management import call_command
from django.utils import timezone
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.utils import close_session

from accounts.services import api_token_create
from papers.models import Paper
from papers.selectors import trending_papers
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db(transaction=True)

DAY = "2026-06-12"


@pytest.fixture(autouse=True)
def _close_client_connections():
    """The client keeps connections open; close them before the live server goes away."""
    yield
    close_session()


@pytest.fixture
def hf(live_server, monkeypatch) -> HfApi:
    """The client as a user would make it, sending no token saved on this machine."""
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    return HfApi(endpoint=live_server.url, token=False)


@pytest.fixture
def day_papers(alice):
    """The demo day, plus a paper a member here submitted, with code and a summary."""
    call_command("load_demo", stdout=None)
    PaperFactory(
        arxiv_id="2606.20001",
        submitted_by=alice,
        listed_on=DAY,
        ai_summary="A member's paper.",
        github_repo="https://github.com/example/code",
        github_stars=42,
        source_upvotes=3,
        published_at=datetime(2026, 6, 11, 17, 30, 12, 345678, tzinfo=UTC),
    )


def to_millisecond(value: datetime | None) -> datetime | None:
    return value.replace(microsecond=value.microsecond // 1000 * 1000) if value else None


def assert_matches_database(info) -> None:
    """Every field the client parsed equals the paper's row."""
    paper = Paper.objects.select_related("submitted_by").get(arxiv_id=info.id)
    assert info.title == paper.title
    assert info.summary == paper.abstract
    assert [a.name for a in info.authors] == paper.author_names
    # PaperInfo reads `paper.upvotes or upvotes`: a paper with 0 votes still reads 0.
    assert info.upvotes == paper.votes
    assert info.published_at == to_millisecond(paper.published_at)
    if paper.submitted_by is not None:
        assert info.submitted_by.username == paper.submitted_by.username
    elif paper.source_submitter:
        assert info.submitted_by.username == paper.source_submitter["user"]
        assert info.submitted_by.fullname == paper.source_submitter["fullname"]
    else:
        assert info.submitted_by is None
    assert info.ai_summary == (paper.ai_summary or None)
    assert info.ai_keywords == paper.ai_keywords
    assert info.github_repo == (paper.github_repo or None)
    assert info.github_stars == paper.github_stars
    assert info.project_page == (paper.project_page or None)
    assert info.comments == paper.comment_count


def test_list_daily_papers_by_date_parses_to_the_database_values(hf, day_papers):
    infos = list(hf.list_daily_papers(date=DAY, limit=100))

    assert len(infos) == 31
    for info in infos:
        assert_matches_database(info)
        # The item-level publishedAt (the client's `submitted_at`) is the publication time.
        assert info.submitted_at == info.published_at
    mine = next(i for i in infos if i.id == "2606.20001")
    assert mine.submitted_by.username == "alice"
    assert mine.published_at == datetime(2026, 6, 11, 17, 30, 12, 345000, tzinfo=UTC)
    # Newest first by default (sort=publishedAt).
    published = [i.published_at for i in infos]
    assert published == sorted(published, reverse=True)


def test_list_daily_papers_by_week_and_month(hf, day_papers):
    PaperFactory(arxiv_id="2606.30001", listed_on="2026-06-08")  # Monday of 2026-W24
    PaperFactory(arxiv_id="2606.30002", listed_on="2026-06-14")  # its Sunday
    PaperFactory(arxiv_id="2606.30003", listed_on="2026-06-15")  # next week
    PaperFactory(arxiv_id="2605.30004", listed_on="2026-05-31")  # last month

    week = {i.id for i in hf.list_daily_papers(week="2026-W24", limit=100)}
    month = {i.id for i in hf.list_daily_papers(month="2026-06", limit=100)}

    day = set(Paper.objects.filter(listed_on=DAY).values_list("arxiv_id", flat=True))
    assert week == day | {"2606.30001", "2606.30002"}
    assert month == day | {"2606.30001", "2606.30002", "2606.30003"}
    for info in hf.list_daily_papers(week="2026-W24", limit=5):
        assert_matches_database(info)


def test_list_daily_papers_sorted_by_trending(hf, day_papers):
    today = timezone.now().date()
    PaperFactory(arxiv_id="2611.00001", listed_on=today, source_upvotes=10)
    PaperFactory(arxiv_id="2611.00002", listed_on=today - timedelta(days=3), source_upvotes=20)
    # Whatever the hour, 5 votes today outrank 20 three days ago: (98 / 26) ** 1.8 > 4.
    PaperFactory(arxiv_id="2611.00003", listed_on=today, source_upvotes=5)

    trending = [i.id for i in hf.list_daily_papers(sort="trending")]
    on_the_day = [i.id for i in hf.list_daily_papers(date=DAY, sort="trending", limit=100)]

    assert trending == [p.arxiv_id for p in trending_papers(now=timezone.now())]
    assert trending == ["2611.00001", "2611.00003", "2611.00002"]
    by_votes = Paper.objects.filter(listed_on=DAY).by_votes().values_list("arxiv_id", flat=True)
    assert on_the_day == list(by_votes)
    assert on_the_day[0] == "2606.13681"  # 118 votes, the day's most


def test_list_daily_papers_pages_with_p_and_limit(hf, day_papers):
    everything = [i.id for i in hf.list_daily_papers(date=DAY, limit=100)]

    pages = [[i.id for i in hf.list_daily_papers(date=DAY, p=p, limit=10)] for p in range(4)]

    assert [len(page) for page in pages] == [10, 10, 10, 1]
    assert [paper_id for page in pages for paper_id in page] == everything


def test_list_daily_papers_by_submitter(hf, day_papers):
    mine = [i.id for i in hf.list_daily_papers(submitter="alice")]
    theirs = [i.id for i in hf.list_daily_papers(submitter="EasonFan")]

    assert mine == ["2606.20001"]
    assert theirs == ["2606.13106"]


def test_a_bad_date_is_a_400_with_the_reason(hf, day_papers):
    with pytest.raises(HfHubHTTPError) as raised:
        list(hf.list_daily_papers(date="2026-02-30"))

    assert raised.value.response.status_code == HTTPStatus.BAD_REQUEST
    assert "not a valid date" in str(raised.value)


def test_list_papers_searches(hf, day_papers):
    found = list(hf.list_papers(query="EvoArena"))
    few = list(hf.list_papers(query="LLM", limit=3))

    assert found[0].id == "2606.13681"
    for info in found:
        assert_matches_database(info)
    assert 0 < len(few) <= 3


def test_paper_info_parses_to_the_database_values(hf, day_papers):
    info = hf.paper_info("2606.20001")
    versioned = hf.paper_info("2606.13681v2")

    assert_matches_database(info)
    assert info.submitted_at == datetime(2026, 6, 12, tzinfo=UTC)  # the listing day
    assert versioned.id == "2606.13681"
    assert_matches_database(versioned)
    assert (info.linked_models, info.num_total_models) == ([], 0)


def test_paper_info_of_an_unknown_paper_is_a_404(hf, day_papers):
    with pytest.raises(HfHubHTTPError) as raised:
        hf.paper_info("2401.99999")

    assert raised.value.response.status_code == HTTPStatus.NOT_FOUND
    assert raised.value.response.json() == {"error": "Paper not found"}


def test_read_paper_reads_the_markdown_page(hf, day_papers):
    text = hf.read_paper("2606.13681")

    paper = Paper.objects.get(arxiv_id="2606.13681")
    assert paper.title in text
    with pytest.raises(HfHubHTTPError) as raised:
        hf.read_paper("2401.99999")
    assert raised.value.response.status_code == HTTPStatus.NOT_FOUND


def test_whoami_with_a_token_from_this_site(live_server, alice):
    token = api_token_create(user=alice, name="laptop").plaintext
    client = HfApi(endpoint=live_server.url, token=token)

    me = client.whoami()

    assert me["name"] == "alice"
    assert me["auth"]["accessToken"]["displayName"] == "laptop"


def test_list_collections_holding_a_paper(hf, alice, bob):
    from readinglists.services import collection_create, item_add

    papers = PaperFactory.create_batch(6)
    public = collection_create(owner=alice, name="Club week 24", visibility="public")
    hidden = collection_create(owner=bob, name="Bob's own")
    for paper in papers:
        item_add(user=alice, collection=public, paper=paper, note=f"about {paper.arxiv_id}")
    item_add(user=bob, collection=hidden, paper=papers[0])

    found = list(hf.list_collections(item=f"papers/{papers[0].arxiv_id}"))

    assert [c.slug for c in found] == [f"{alice.username}/club-week-24"]
    collection = found[0]
    assert collection.title == "Club week 24"
    assert collection.private is False
    assert [i.item_id for i in collection.items] == [p.arxiv_id for p in papers[:4]]
    assert collection.items[0].item_type == "paper"
    assert collection.items[0].note == f"about {papers[0].arxiv_id}"
    assert list(hf.list_collections(item="papers/2612.99999")) == []

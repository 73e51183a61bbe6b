from __future__ import annotations

import datetime as dt
import re
from http import HTTPStatus

import feedparser
import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from papers import vectors
from papers.embeddings import embed_stale
from papers.models import Paper
from tests.factories import PaperFactory, UpvoteFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 20, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _clock_and_cache():
    cache.clear()
    with time_machine.travel(NOW, tick=False):
        yield
    cache.clear()


@pytest.fixture
def demo():
    call_command("load_demo", stdout=None)


def html(response) -> str:
    assert response.status_code == HTTPStatus.OK, response.status_code
    return response.content.decode()


def card_titles(page: str) -> list[str]:
    return re.findall(r'<h2 class="card-title"><a href="[^"]+">(.*?)</a>', page)


def test_home_shows_the_latest_day_with_tabs_and_no_next_link(client, demo):
    page = html(client.get("/"))

    assert len(card_titles(page)) == 30
    assert "Friday, June 12, 2026" in page
    assert 'href="/papers/week/2026-W24"' in page
    assert 'href="/papers/month/2026-06"' in page
    assert 'rel="next"' not in page
    assert "Get trending papers in your email inbox!" in page


def test_papers_path_is_the_same_feed(client, demo):
    assert card_titles(html(client.get("/papers"))) == card_titles(html(client.get("/")))


def test_day_is_ordered_by_local_plus_source_votes(client, demo):
    top = Paper.objects.get(arxiv_id="2606.13392")  # 103 source votes
    UpvoteFactory.create_batch(20, paper=top)
    Paper.objects.filter(pk=top.pk).update(upvote_count=20)  # 123 > 118 of 2606.13681

    titles = card_titles(html(client.get("/papers/date/2026-06-12")))

    assert titles[0] == top.title
    assert titles[1] == Paper.objects.get(arxiv_id="2606.13681").title


def test_newest_order_sorts_by_publication(client, demo):
    titles = card_titles(html(client.get("/papers/date/2026-06-12?sort=newest")))
    newest = Paper.objects.filter(listed_on="2026-06-12").order_by("-published_at", "-id")
    assert titles == [p.title for p in newest]


def test_card_shows_authors_count_date_github_stars_project_and_keywords(client, demo):
    page = html(client.get("/papers/date/2026-06-12"))
    card = page[page.index('id="paper-260610423"') :]
    card = card[: card.index("</article>")]

    assert "Jayoo Hwang" in card or "authors" in card
    assert "Jun 9" in card
    assert "https://github.com/jayoohwang1/webchallenger" in card
    assert "★ 2" in card
    assert "Project page" in card
    assert 'class="tag"' in card


def test_prev_and_next_skip_empty_periods_and_never_reach_the_future(client):
    PaperFactory(listed_on=dt.date(2026, 6, 1))
    PaperFactory(listed_on=dt.date(2026, 6, 12))
    PaperFactory(listed_on=dt.date(2026, 6, 25))  # in the future (today is 2026-06-20)

    page = html(client.get("/papers/date/2026-06-12"))
    assert 'rel="prev" href="/papers/date/2026-06-01"' in page
    assert 'rel="next"' not in page

    page = html(client.get("/papers/date/2026-06-01"))
    assert 'rel="next" href="/papers/date/2026-06-12"' in page
    assert 'rel="prev"' not in page


def test_week_and_month_pages_group_papers(client):
    PaperFactory(listed_on=dt.date(2026, 6, 8), title="Monday paper")
    PaperFactory(listed_on=dt.date(2026, 6, 14), title="Sunday paper")
    PaperFactory(listed_on=dt.date(2026, 6, 15), title="Next week paper")

    week = card_titles(html(client.get("/papers/week/2026-W24")))
    month = card_titles(html(client.get("/papers/month/2026-06")))

    assert sorted(week) == ["Monday paper", "Sunday paper"]
    assert len(month) == 3


def test_iso_week_53_and_weeks_across_years(client):
    PaperFactory(listed_on=dt.date(2026, 12, 31), title="Last week of 2026")
    PaperFactory(listed_on=dt.date(2025, 12, 29), title="Week 1 of 2026 starts in 2025")

    assert card_titles(html(client.get("/papers/week/2026-W53"))) == ["Last week of 2026"]
    assert card_titles(html(client.get("/papers/week/2026-W01"))) == [
        "Week 1 of 2026 starts in 2025"
    ]
    assert client.get("/papers/week/2025-W53").status_code == HTTPStatus.NOT_FOUND


def test_leap_day_and_month_boundaries(client):
    PaperFactory(listed_on=dt.date(2024, 2, 29), title="Leap day")
    PaperFactory(listed_on=dt.date(2024, 3, 1), title="March")

    assert card_titles(html(client.get("/papers/date/2024-02-29"))) == ["Leap day"]
    assert card_titles(html(client.get("/papers/month/2024-02"))) == ["Leap day"]
    assert "Week 9, 2024" in html(client.get("/papers/week/2024-W09"))


@pytest.mark.parametrize(
    "path",
    [
        "/papers/date/2026-02-29",
        "/papers/date/2026-13-01",
        "/papers/date/yesterday",
        "/papers/week/2026-W00",
        "/papers/week/2026-W54",
        "/papers/month/2026-13",
        "/papers/month/2026-00",
        "/papers/2606.99999",
        "/papers/nonsense",
    ],
)
def test_impossible_dates_and_unknown_papers_are_404(client, path):
    response = client.get(path)
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "Page not found" in response.content.decode()


def test_empty_period_is_friendly(client):
    page = html(client.get("/papers/date/2026-06-13"))
    assert "No papers on this day yet" in page


def test_long_month_is_paginated(client):
    PaperFactory.create_batch(60, listed_on=dt.date(2026, 5, 10))

    first = html(client.get("/papers/month/2026-05"))
    second = html(client.get("/papers/month/2026-05?page=2"))

    assert len(card_titles(first)) == 50
    assert len(card_titles(second)) == 10
    assert "Page 1 of 2 · 60 papers" in first


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/papers/date/2026-06-19",
        "/papers/week/2026-W25",
        "/papers/month/2026-06",
        "/papers/trending",
        "/papers/search?q=model",
    ],
)
def test_pages_cost_at_most_six_queries_at_fifty_papers(
    client, alice, django_assert_max_num_queries, path
):
    papers = PaperFactory.create_batch(50, listed_on=dt.date(2026, 6, 19), title="A model paper")
    for paper in papers[:10]:
        UpvoteFactory(paper=paper, user=alice)
    client.force_login(alice)

    with django_assert_max_num_queries(6):
        page = html(client.get(path))
    assert len(card_titles(page)) == 50 if "search" not in path else 20


def test_paper_page_costs_at_most_six_queries(client, alice, django_assert_max_num_queries):
    PaperFactory.create_batch(10, listed_on=dt.date(2026, 6, 12))
    paper = PaperFactory(listed_on=dt.date(2026, 6, 12))
    client.force_login(alice)

    # The member, the paper, its similar papers (from the vectors, read once per process,
    # not per page), its verified authors, its comments, the member's votes.
    embed_stale()
    vectors.index()
    with django_assert_max_num_queries(6):
        html(client.get(f"/papers/{paper.arxiv_id}"))


def test_trending_ranks_fresh_votes_over_old_votes(client):
    PaperFactory(listed_on=dt.date(2026, 6, 14), source_upvotes=100, title="Old and popular")
    PaperFactory(listed_on=dt.date(2026, 6, 20), source_upvotes=20, title="Fresh")
    PaperFactory(listed_on=dt.date(2026, 6, 19), source_upvotes=5, title="Yesterday, few votes")
    PaperFactory(listed_on=dt.date(2026, 5, 1), source_upvotes=1000, title="Too old")

    titles = card_titles(html(client.get("/papers/trending")))

    # 20 / (9 + 2)^1.8 = 0.27 beats 100 / (153 + 2)^1.8 = 0.011 and 5 / 35^1.8 = 0.008
    assert titles == ["Fresh", "Old and popular", "Yesterday, few votes"]


def test_paper_page_shows_everything_and_related_papers(client, demo):
    page = html(client.get("/papers/2606.13392"))

    paper = Paper.objects.get(arxiv_id="2606.13392")
    assert paper.title in page
    for name in paper.author_names:
        assert name in page
    assert "https://arxiv.org/abs/2606.13392" in page
    assert "https://arxiv.org/pdf/2606.13392" in page
    assert "https://github.com/MiniMax-AI/MSA" in page
    assert "AI-generated summary" in page
    assert "Published on arXiv" in page
    assert "Listed here" in page
    assert "Similar papers" in page
    assert 'href="/papers/2606.13392.md"' in page


def test_versioned_id_redirects_to_the_canonical_page(client, demo):
    response = client.get("/papers/2606.13392v2")

    assert response.status_code == HTTPStatus.MOVED_PERMANENTLY
    assert response["Location"] == "/papers/2606.13392"


def test_old_style_ids_have_pages(client):
    PaperFactory(arxiv_id="hep-th/9901001", title="Old style")

    assert "Old style" in html(client.get("/papers/hep-th/9901001"))
    assert client.get("/papers/hep-th/9901001v2")["Location"] == "/papers/hep-th/9901001"


def test_markdown_view_has_the_content(client, demo):
    response = client.get("/papers/2606.13392.md")

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    text = response.content.decode()
    paper = Paper.objects.get(arxiv_id="2606.13392")
    assert text.startswith(f"# {paper.title}\n")
    assert "## Abstract" in text
    assert paper.abstract in text
    assert "- arXiv: https://arxiv.org/abs/2606.13392" in text
    assert "- Code: https://github.com/MiniMax-AI/MSA (251 stars)" in text


def test_math_is_rendered_as_mathml_and_bad_math_stays_text(client):
    paper = PaperFactory(
        title="Bounds of $O(n^2)$ for $\\frac{1}{$ cases", abstract="Costs $5 and $10."
    )

    page = html(client.get(f"/papers/{paper.arxiv_id}"))

    assert '<math display="inline" xmlns="http://www.w3.org/1998/Math/MathML">' in page
    assert "<msup><mi>n</mi><mn>2</mn></msup>" in page
    assert "$\\frac{1}{$" in page
    assert "Costs $5 and $10." in page


def test_source_html_is_shown_as_text_everywhere(client):
    hostile = "<script>alert(1)</script><img src=x onerror=alert(1)> $\\text{<script>x</script>}$"
    paper = PaperFactory(title=hostile, abstract=hostile, listed_on=dt.date(2026, 6, 12))

    for path in ["/", f"/papers/{paper.arxiv_id}", "/papers/search?q=script", "/papers/trending"]:
        page = html(client.get(path))
        assert "<script>alert(1)</script>" not in page
        assert "<img src=x" not in page
        assert "<script>x</script>" not in page


def test_search_ranks_title_matches_over_abstract_matches(client):
    PaperFactory(title="Something else", abstract="We study sparse attention at scale.")
    PaperFactory(title="Sparse attention for long contexts", abstract="Nothing related.")
    PaperFactory(title="Unrelated", abstract="Unrelated.")

    page = html(client.get("/papers/search?q=sparse+attention"))

    assert card_titles(page) == [
        "<mark>Sparse</mark> <mark>attention</mark> for long contexts",
        "Something else",
    ]
    assert "<mark>sparse</mark> <mark>attention</mark>" in page


def test_search_is_paginated(client):
    PaperFactory.create_batch(25, title="Diffusion transformers")

    first = html(client.get("/papers/search?q=diffusion"))
    second = html(client.get("/papers/search?q=diffusion&page=2"))

    assert (len(card_titles(first)), len(card_titles(second))) == (20, 5)


@pytest.mark.parametrize(
    "query",
    [
        "2606.13392",
        "2606.13392v1",
        "https://arxiv.org/abs/2606.13392v3",
        "https://arxiv.org/pdf/2606.13392",
        "https://huggingface.co/papers/2606.13392",
    ],
)
def test_search_for_an_id_or_url_goes_to_the_paper(client, demo, query):
    response = client.get("/papers/search", {"q": query})

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/papers/2606.13392"


def test_search_for_a_missing_id_offers_members_to_add_it(client, alice):
    assert "Log in</a> to add it" in html(client.get("/papers/search?q=2601.00001"))

    client.force_login(alice)
    page = html(client.get("/papers/search?q=2601.00001"))
    assert "Add it to today" in page
    assert 'name="paper_id" value="2601.00001"' in page


def test_q_on_a_feed_searches(client):
    response = client.get("/papers/date/2026-06-12?q=agents")
    assert response["Location"] == "/papers/search?q=agents"


@pytest.mark.parametrize("path", ["/papers/feed.rss", "/papers/feed.atom"])
def test_feeds_parse_cleanly_with_stable_guids_dates_and_abstracts(client, demo, path):
    response = client.get(path)
    parsed = feedparser.parse(response.content)

    assert not parsed.bozo, parsed.get("bozo_exception")
    assert len(parsed.entries) == 30
    first = parsed.entries[0]
    paper = Paper.objects.get(arxiv_id="2606.13681")
    assert first.title == paper.title
    assert first.id == "http://127.0.0.1:8000/papers/2606.13681"
    assert first.link.endswith("/papers/2606.13681")
    assert first.published_parsed[:3] == (2026, 6, 11)
    assert paper.abstract[:100] in first.summary


def test_search_feed_and_alternate_links(client, demo):
    parsed = feedparser.parse(client.get("/papers/feed.rss?q=agent").content)
    assert not parsed.bozo
    assert parsed.entries
    assert parsed.feed.title == "Daily Papers: agent"

    page = html(client.get("/papers/search?q=agent"))
    assert (
        'type="application/rss+xml" title="Daily Papers (RSS)" href="/papers/feed.rss?q=agent"'
        in page
    )
    home = html(client.get("/"))
    assert 'rel="alternate" type="application/atom+xml"' in home


# Upvotes


def test_upvote_toggles_and_the_count_survives_a_reload(
    client, alice, django_capture_on_commit_callbacks
):
    paper = PaperFactory(source_upvotes=10, listed_on=dt.date(2026, 6, 12))
    client.force_login(alice)
    html(client.get("/"))  # cached before the vote

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/papers/{paper.arxiv_id}/upvote", {"next": "/"})
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/"
    page = html(client.get("/"))
    assert 'aria-pressed="true"' in page
    assert '<span class="count">11</span>' in page

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/papers/{paper.arxiv_id}/upvote", {"next": "/"})
    page = html(client.get("/"))
    assert 'aria-pressed="false"' in page
    assert '<span class="count">10</span>' in page
    assert Paper.objects.get().upvote_count == 0


def test_upvote_with_htmx_returns_the_button_only(client, alice):
    paper = PaperFactory()
    client.force_login(alice)

    response = client.post(f"/papers/{paper.arxiv_id}/upvote", headers={"HX-Request": "true"})

    body = html(response)
    assert body.lstrip().startswith('<form class="upvote"')
    assert 'aria-pressed="true"' in body
    assert '<span class="count">1</span>' in body


def test_anonymous_upvote_leads_to_login_and_back(client):
    paper = PaperFactory()

    response = client.post(f"/papers/{paper.arxiv_id}/upvote", {"next": "/papers/trending"})
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/accounts/login/?next=/papers/trending"

    response = client.post(f"/papers/{paper.arxiv_id}/upvote", headers={"HX-Request": "true"})
    assert response["HX-Redirect"].startswith("/accounts/login/?next=")
    assert Paper.objects.get().upvote_count == 0


def test_upvote_needs_csrf(alice):
    paper = PaperFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    response = client.post(f"/papers/{paper.arxiv_id}/upvote")

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert Paper.objects.get().upvote_count == 0


def test_upvote_by_get_is_refused(client, alice):
    paper = PaperFactory()
    client.force_login(alice)
    assert client.get(f"/papers/{paper.arxiv_id}/upvote").status_code == (
        HTTPStatus.METHOD_NOT_ALLOWED
    )


def test_two_members_upvote_and_each_sees_their_own_state(client, alice, bob):
    paper = PaperFactory(listed_on=dt.date(2026, 6, 12))
    client.force_login(alice)
    client.post(f"/papers/{paper.arxiv_id}/upvote")
    client.force_login(bob)
    client.post(f"/papers/{paper.arxiv_id}/upvote")
    client.post(f"/papers/{paper.arxiv_id}/upvote")

    page = html(client.get("/"))
    assert 'aria-pressed="false"' in page
    assert '<span class="count">1</span>' in page
    client.force_login(alice)
    assert 'aria-pressed="true"' in html(client.get("/"))


def test_an_upvote_invalidates_the_cached_feed(client, alice, django_capture_on_commit_callbacks):
    paper = PaperFactory(listed_on=dt.date(2026, 6, 12))
    assert '<span class="count">0</span>' in html(client.get("/"))  # now cached

    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/papers/{paper.arxiv_id}/upvote")
    client.logout()

    assert '<span class="count">1</span>' in html(client.get("/"))


def test_ingestion_invalidates_the_cached_feed(client, django_capture_on_commit_callbacks):
    PaperFactory(listed_on=dt.date(2026, 6, 12))
    html(client.get("/"))

    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_demo", stdout=None)

    assert len(card_titles(html(client.get("/")))) == 31


def test_upvote_redirect_ignores_foreign_next(client, alice):
    paper = PaperFactory()
    client.force_login(alice)

    response = client.post(f"/papers/{paper.arxiv_id}/upvote", {"next": "https://evil.example/"})

    assert response["Location"] == f"/papers/{paper.arxiv_id}"


def test_hidden_papers_do_not_show(client):
    paper = PaperFactory(hidden=True, listed_on=dt.date(2026, 6, 12))
    assert client.get(f"/papers/{paper.arxiv_id}").status_code == HTTPStatus.NOT_FOUND


def test_every_page_links_the_stylesheet_and_htmx_from_our_own_static_files(client, demo):
    page = html(client.get("/"))
    assert re.search(r'<script src="/static/django_htmx/htmx-2\.min\.js[^"]*"', page)
    assert "https://" not in re.sub(r'href="https://[^"]+"', "", page).split("<body")[0]
    assert reverse("papers:search") in page


def test_visitors_pages_carry_no_csrf_token_or_cookie_and_are_served_from_cache(
    client, demo, django_assert_max_num_queries
):
    first = client.get("/papers/date/2026-06-12")
    assert "csrfmiddlewaretoken" not in first.content.decode()
    assert "csrftoken" not in first.cookies

    with django_assert_max_num_queries(0):
        again = client.get("/papers/date/2026-06-12")
    assert again.content == first.content


def test_visitors_can_subscribe_from_a_cached_page_without_a_csrf_token(demo):
    client = Client(enforce_csrf_checks=True)
    page = client.get("/").content.decode()
    assert 'action="/digests/subscribe"' in page or "/digests/" in page

    response = client.post(
        reverse("digests:subscribe"), {"email": "reader@example.org", "frequency": "daily"}
    )

    assert response.status_code == HTTPStatus.OK


def test_members_subscribing_still_need_the_csrf_token(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    response = client.post(
        reverse("digests:subscribe"), {"email": "alice@example.org", "frequency": "daily"}
    )

    assert response.status_code == HTTPStatus.FORBIDDEN


def test_members_pages_are_not_served_from_the_visitors_cache(client, alice, demo):
    client.get("/")  # cached for visitors
    client.force_login(alice)

    page = client.get("/").content.decode()

    assert "Log out" in page
    assert 'name="csrfmiddlewaretoken"' in page


@pytest.mark.parametrize("path", ["/papers/feed.rss", "/papers/feed.atom"])
def test_a_hostile_abstract_reaches_feed_readers_as_text(client, path):
    PaperFactory(
        title="Payload",
        abstract='Results <img src=x onerror="alert(1)"> & <script>alert(2)</script>',
        listed_on=dt.date(2026, 6, 19),
    )

    parsed = feedparser.parse(client.get(path).content)
    # What a reader renders as HTML once the XML is read: escaped markup, shown as text.
    summary = parsed.entries[0].summary

    assert "<img" not in summary
    assert "<script" not in summary
    assert "&lt;img src=x onerror=" in summary


def test_the_search_feeds_link_carries_the_query_url_encoded(client):
    parsed = feedparser.parse(client.get("/papers/feed.rss", {"q": 'a&b "c" <d>'}).content)

    assert parsed.feed.link.endswith("/papers/search?q=a%26b+%22c%22+%3Cd%3E")

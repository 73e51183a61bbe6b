"""arXiv categories: names for codes, category pages by day, week and month, and the
`category` filter of feeds, search, RSS/Atom and the API."""

from __future__ import annotations

import datetime as dt
from http import HTTPStatus

import pytest
from defusedxml.ElementTree import fromstring
from django.db import connection
from django.urls import reverse

from papers import categories, selectors
from papers.models import Paper
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db

FRIDAY = dt.date(2026, 6, 12)
THURSDAY = dt.date(2026, 6, 11)


@pytest.fixture
def shelf():
    """Papers in three categories, one of them cross-listed."""
    return {
        "learning": PaperFactory(
            title="Learning rates that learn",
            listed_on=FRIDAY,
            primary_category="cs.LG",
            categories=["cs.LG", "stat.ML"],
            source_upvotes=5,
        ),
        "kernels": PaperFactory(
            title="Kernels for everyone",
            listed_on=FRIDAY,
            primary_category="stat.ML",
            categories=["stat.ML"],
            source_upvotes=3,
        ),
        "parsing": PaperFactory(
            title="Parsing with pictures",
            listed_on=FRIDAY,
            primary_category="cs.CL",
            categories=["cs.CL"],
        ),
        "older": PaperFactory(
            title="An older kernel paper",
            listed_on=THURSDAY,
            primary_category="stat.ML",
            categories=["stat.ML"],
        ),
    }


def titles(response) -> list[str]:
    return [p.title for p in response.context["papers"]]


def test_the_taxonomy_names_every_code_arxiv_uses():
    assert categories.category_name("cs.LG") == "Machine Learning"
    assert categories.category_name("hep-th") == "High Energy Physics - Theory"
    assert categories.category_name("astro-ph") == "Astrophysics"  # retired, still on papers
    assert categories.category("cs.CL").group == "Computer Science"
    assert categories.category_name("xx.YY") == "xx.YY"
    current = {c.code for group in categories.groups() for c in group.categories}
    assert {"cs.LG", "stat.ML", "hep-th", "math.AG", "q-bio.NC", "econ.EM"} <= current
    assert "astro-ph" not in current
    assert len(current) >= 150


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("cs.LG", "cs.LG"),
        (" hep-th ", "hep-th"),
        ("", ""),
        (None, ""),
        ("cs.XX", None),
        ("cs.lg", None),
        ("'; drop table", None),
        ("c" * 200, None),
    ],
)
def test_a_category_from_a_request_is_a_known_code_or_refused(value, expected):
    assert categories.clean_category(value) == expected


def test_the_filter_matches_the_primary_category_and_the_cross_lists(shelf):
    def ids(code: str) -> set[str]:
        found = selectors.in_category(Paper.objects.all(), code).values_list("title", flat=True)
        return set(found)

    assert ids("cs.LG") == {"Learning rates that learn"}
    assert ids("stat.ML") == {
        "Learning rates that learn",
        "Kernels for everyone",
        "An older kernel paper",
    }
    assert ids("hep-th") == set()
    assert len(ids("")) == 4


def test_a_category_page_lists_its_latest_day_with_the_cross_lists(client, shelf):
    response = client.get(reverse("papers:category", args=["stat.ML"]))

    assert response.status_code == HTTPStatus.OK
    assert titles(response) == ["Learning rates that learn", "Kernels for everyone"]
    html = response.content.decode()
    assert "Machine Learning" in html
    assert "stat.ML" in html
    assert reverse("papers:category-week", args=["stat.ML", "2026-W24"]) in html
    previous = reverse("papers:category-day", args=["stat.ML", "2026-06-11"])
    assert f'rel="prev" href="{previous}"' in html


def test_a_category_day_week_and_month(client, shelf):
    day = client.get(reverse("papers:category-day", args=["stat.ML", "2026-06-11"]))
    week = client.get(reverse("papers:category-week", args=["stat.ML", "2026-W24"]))
    month = client.get(reverse("papers:category-month", args=["cs.CL", "2026-06"]))

    assert titles(day) == ["An older kernel paper"]
    assert titles(week) == [
        "Learning rates that learn",
        "Kernels for everyone",
        "An older kernel paper",
    ]
    assert titles(month) == ["Parsing with pictures"]


def test_an_unknown_category_or_period_is_a_404(client, shelf):
    assert client.get("/papers/category/cs.XX").status_code == HTTPStatus.NOT_FOUND
    assert client.get("/papers/category/stat.ML/date/2026-13-40").status_code == 404
    assert client.get("/papers/date/2026-06-12?category=nope").status_code == 404


def test_the_category_filter_on_a_feed_goes_to_the_category_page(client, shelf):
    response = client.get("/papers/week/2026-W24?category=cs.LG")

    assert response.status_code == HTTPStatus.FOUND
    assert response.url == reverse("papers:category-week", args=["cs.LG", "2026-W24"])
    assert client.get("/papers?category=cs.LG").url == reverse("papers:category", args=["cs.LG"])


def test_cards_and_the_paper_page_link_to_the_categories(client, shelf):
    feed = client.get(reverse("papers:day", args=["2026-06-12"])).content.decode()
    page = client.get(reverse("papers:paper", args=[shelf["learning"].arxiv_id])).content.decode()

    chip = f'href="{reverse("papers:category", args=["cs.CL"])}" title="Computation and Language"'
    assert chip in feed
    assert f'href="{reverse("papers:category", args=["stat.ML"])}"' in page


def test_the_categories_index_lists_every_group(client):
    html = client.get(reverse("papers:categories")).content.decode()

    assert "Computer Science" in html
    assert "Quantitative Biology" in html
    assert reverse("papers:category", args=["cs.LG"]) in html


def test_search_within_a_category(client, shelf):
    everywhere = client.get(reverse("papers:search"), {"q": "kernel"})
    in_ml = client.get(reverse("papers:search"), {"q": "kernel", "category": "stat.ML"})
    in_cl = client.get(reverse("papers:search"), {"q": "kernel", "category": "cs.CL"})
    bad = client.get(reverse("papers:search"), {"q": "kernel", "category": "nope"})

    assert len(everywhere.context["papers"]) == 2
    assert len(in_ml.context["papers"]) == 2
    assert in_cl.context.get("papers", []) == []
    assert bad.status_code == HTTPStatus.BAD_REQUEST
    assert "not an arXiv category" in bad.content.decode()


def test_rss_and_atom_of_a_category(client, shelf):
    rss = client.get(reverse("papers:feed-rss"), {"category": "cs.LG"})
    atom = client.get(reverse("papers:feed-atom"), {"category": "cs.CL"})
    bad = client.get(reverse("papers:feed-rss"), {"category": "nope"})

    channel = fromstring(rss.content).find("channel")
    assert channel.findtext("title") == "Daily Papers: Machine Learning (cs.LG)"
    assert [i.findtext("title") for i in channel.findall("item")] == ["Learning rates that learn"]
    entries = fromstring(atom.content).findall("{http://www.w3.org/2005/Atom}entry")
    assert [e.findtext("{http://www.w3.org/2005/Atom}title") for e in entries] == [
        "Parsing with pictures"
    ]
    assert bad.status_code == HTTPStatus.NOT_FOUND


def test_the_api_filters_by_category(client, shelf):
    daily = client.get("/api/daily_papers", {"date": "2026-06-12", "category": "stat.ML"})
    listed = client.get("/api/papers", {"category": "cs.CL"})
    found = client.get("/api/papers/search", {"q": "kernel", "category": "stat.ML"})

    assert daily.status_code == HTTPStatus.OK
    assert {item["paper"]["id"] for item in daily.json()} == {
        shelf["learning"].arxiv_id,
        shelf["kernels"].arxiv_id,
    }
    assert [p["arxiv_id"] for p in listed.json()["results"]] == [shelf["parsing"].arxiv_id]
    [parsing] = listed.json()["results"]
    assert (parsing["primary_category"], parsing["categories"]) == ("cs.CL", ["cs.CL"])
    assert len(found.json()) == 2


@pytest.mark.parametrize("path", ["/api/daily_papers", "/api/papers", "/api/papers/search"])
def test_the_api_refuses_an_unknown_category_clearly(client, shelf, path):
    response = client.get(path, {"category": "cs.XX"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "not an arXiv category" in response.content.decode()


def test_a_category_feed_is_its_own_cached_page(client, shelf):
    """The category's page and the main page of the same day are kept apart."""
    day = reverse("papers:day", args=["2026-06-12"])
    category_day = reverse("papers:category-day", args=["cs.CL", "2026-06-12"])

    for _ in range(2):  # built, then kept
        whole = client.get(day).content.decode()
        one = client.get(category_day).content.decode()
        assert whole.count('<article class="card"') == 3
        assert one.count('<article class="card"') == 1
        assert "Parsing with pictures" in one


@pytest.mark.postgres
def test_postgresql_answers_the_filter_from_a_gin_index(shelf):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'paper_categories_gin'")
        [(definition,)] = cursor.fetchall()
        assert "gin (categories jsonb_path_ops)" in definition
        cursor.execute("SET enable_seqscan = off")
        sql, params = Paper.objects.filter(categories__includes="cs.LG").query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
    assert "paper_categories_gin" in plan


def test_a_feed_reads_its_order_from_the_keys_and_then_its_page_only(alice):
    """Read whole, every paper of the period was fetched (and at first joined to the
    members) before the page's 50 were kept: a month of all of arXiv is 13,700 papers."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from papers.periods import period_of

    PaperFactory(listed_on=FRIDAY, submitted_by=alice, title="Submitted by Alice")
    PaperFactory(listed_on=FRIDAY)

    with CaptureQueriesContext(connection) as queries:
        feed = selectors.feed_page(period_of("month", FRIDAY), order="votes", page=1, today=FRIDAY)
        submitters = {p.title: p.submitted_by for p in feed.papers}

    reads = [q["sql"] for q in queries.captured_queries if '"papers_paper"."title"' in q["sql"]]
    assert len(reads) == 1
    # The page's papers whole, with their submitters, are those of the ids read first: the
    # order and the count read only what the indexes hold.
    outer, keys = reads[0].split(" IN (SELECT ", 1)
    assert "accounts_user" in outer
    assert "COUNT(" in outer
    for column in ("title", "abstract", "authors", "accounts_user"):
        assert column not in keys
    assert submitters["Submitted by Alice"] == alice
    assert feed.total == 2


def test_trending_reads_its_order_from_the_keys_and_then_its_page_only(client):
    """A week of all of arXiv is 3,000 papers: ranked from the index, read 50 by id."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    PaperFactory(listed_on=dt.datetime.now(tz=dt.UTC).date(), title="Fresh paper")

    with CaptureQueriesContext(connection) as queries:
        page = client.get("/papers/trending")

    assert "Fresh paper" in page.content.decode()
    reads = [q["sql"] for q in queries.captured_queries if '"papers_paper"."title"' in q["sql"]]
    assert len(reads) == 1
    keys = reads[0].split(" IN (SELECT ", 1)[1]
    assert "POWER(" in keys.upper()
    for column in ("title", "abstract", "authors"):
        assert column not in keys

from __future__ import annotations

from django.urls import path, register_converter

from papers import feeds, views
from papers.sources.records import NEW_ID, OLD_ID


class _Converter:
    """A path segment matched by `regex` and passed through as it is."""

    regex = ""

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class ArxivIdConverter(_Converter):
    """New-style (2401.12345) and old-style (hep-th/9901001) ids, with an optional version."""

    regex = rf"(?:{NEW_ID}|{OLD_ID})(?:v\d+)?"


class CitationFormatConverter(_Converter):
    """The export formats of papers/citations.py: `bib` or `csl.json`."""

    regex = r"bib|csl\.json"


class CategoryConverter(_Converter):
    """An arXiv category code: cs.LG, hep-th, cond-mat.supr-con (the view checks it is one)."""

    regex = r"[a-z][a-z\-]*(?:\.[A-Za-z][A-Za-z\-]*)?"


register_converter(ArxivIdConverter, "arxiv")
register_converter(CitationFormatConverter, "citation")
register_converter(CategoryConverter, "category")

app_name = "papers"

urlpatterns = [
    path("", views.latest, name="home"),
    path("papers", views.latest, name="latest"),
    path("papers/date/<str:slug>", views.feed, {"kind": "date"}, name="day"),
    path("papers/week/<str:slug>", views.feed, {"kind": "week"}, name="week"),
    path("papers/month/<str:slug>", views.feed, {"kind": "month"}, name="month"),
    path("papers/trending", views.trending, name="trending"),
    path("papers/categories", views.category_index, name="categories"),
    path("papers/category/<category:code>", views.category_latest, name="category"),
    path(
        "papers/category/<category:code>/date/<str:slug>",
        views.category_feed,
        {"kind": "date"},
        name="category-day",
    ),
    path(
        "papers/category/<category:code>/week/<str:slug>",
        views.category_feed,
        {"kind": "week"},
        name="category-week",
    ),
    path(
        "papers/category/<category:code>/month/<str:slug>",
        views.category_feed,
        {"kind": "month"},
        name="category-month",
    ),
    path("authors/<path:name>", views.author, name="author"),
    path("papers/search", views.search, name="search"),
    path("papers/search.<citation:fmt>", views.search_citations, name="search-export"),
    path("papers/submit", views.submit, name="submit"),
    path("papers/feed.rss", feeds.PapersRssFeed(), name="feed-rss"),
    path("papers/feed.atom", feeds.PapersAtomFeed(), name="feed-atom"),
    path("papers/<arxiv:arxiv_id>.md", views.paper_markdown, name="paper-md"),
    path("papers/<arxiv:arxiv_id>.<citation:fmt>", views.paper_citation, name="paper-export"),
    path("papers/<arxiv:arxiv_id>/upvote", views.upvote, name="upvote"),
    path("papers/<arxiv:arxiv_id>/claim", views.claim, name="claim"),
    path("papers/<arxiv:arxiv_id>", views.paper, name="paper"),
]

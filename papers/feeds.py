"""RSS 2.0 and Atom feeds of the latest day, or of a search (`?q=`), of all papers or of
one arXiv category (`?category=cs.LG`)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import NamedTuple
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape

from papers import categories, selectors
from papers.models import Paper
from papers.periods import period_of

FEED_SIZE = 50


class Wanted(NamedTuple):
    query: str
    category: str


class PapersRssFeed(Feed[Paper, Wanted]):
    description = "The day's most upvoted machine-learning papers."

    def get_object(self, request: HttpRequest) -> Wanted:
        category = categories.clean_category(request.GET.get("category"))
        if category is None:
            raise Http404("not an arXiv category")
        return Wanted(request.GET.get("q", "").replace("\x00", "").strip()[:200], category)

    def title(self, wanted: Wanted) -> str:
        parts = ["Daily Papers"]
        if wanted.category:
            parts.append(f"{categories.category_name(wanted.category)} ({wanted.category})")
        if wanted.query:
            parts.append(wanted.query)
        return ": ".join(parts)

    def link(self, wanted: Wanted) -> str:
        if wanted.query:
            params = {"q": wanted.query} | (
                {"category": wanted.category} if wanted.category else {}
            )
            return f"{reverse('papers:search')}?{urlencode(params)}"
        if wanted.category:
            return reverse("papers:category", args=[wanted.category])
        return reverse("papers:latest")

    def items(self, wanted: Wanted) -> list[Paper]:
        if wanted.query:
            return list(selectors.search_papers(wanted.query, category=wanted.category)[:FEED_SIZE])
        day = selectors.latest_listed_day(until=timezone.now().date(), category=wanted.category)
        if day is None:
            return []
        period = period_of("date", day)
        return list(selectors.papers_in_period(period, category=wanted.category)[:FEED_SIZE])

    def item_title(self, item: Paper) -> str:
        return item.title

    def item_description(self, item: Paper) -> str:
        # Readers show a description as HTML: an abstract is text, so it goes escaped.
        return escape(item.abstract)

    def item_link(self, item: Paper) -> str:
        return reverse("papers:paper", args=[item.arxiv_id])

    def item_guid(self, item: Paper) -> str:
        return settings.SITE_URL + reverse("papers:paper", args=[item.arxiv_id])

    item_guid_is_permalink = True

    def item_pubdate(self, item: Paper) -> datetime:
        return item.published_at or datetime.combine(item.listed_on, time(), tzinfo=UTC)

    def item_updateddate(self, item: Paper) -> datetime:
        return item.updated_at

    def item_author_name(self, item: Paper) -> str:
        names = item.author_names
        return ", ".join(names[:3]) + (" et al." if len(names) > 3 else "")

    def item_categories(self, item: Paper) -> list[str]:
        return list(item.ai_keywords or item.categories)


class PapersAtomFeed(PapersRssFeed):
    feed_type = Atom1Feed

    def subtitle(self, wanted: Wanted) -> str:
        return self.description

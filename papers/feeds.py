"""RSS 2.0 and Atom feeds of the latest day, or of a search (`?q=`)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape

from papers import selectors
from papers.models import Paper
from papers.periods import period_of

FEED_SIZE = 50


class PapersRssFeed(Feed[Paper, str]):
    description = "The day's most upvoted machine-learning papers."

    def get_object(self, request: HttpRequest) -> str:
        return request.GET.get("q", "").strip()[:200]

    def title(self, query: str) -> str:
        return f"Daily Papers: {query}" if query else "Daily Papers"

    def link(self, query: str) -> str:
        if query:
            return f"{reverse('papers:search')}?{urlencode({'q': query})}"
        return reverse("papers:latest")

    def items(self, query: str) -> list[Paper]:
        if query:
            return list(selectors.search_papers(query)[:FEED_SIZE])
        day = selectors.latest_listed_day(until=timezone.now().date())
        if day is None:
            return []
        return list(selectors.papers_in_period(period_of("date", day))[:FEED_SIZE])

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

    def subtitle(self, query: str) -> str:
        return self.description

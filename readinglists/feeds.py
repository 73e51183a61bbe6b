"""An Atom feed of a collection: its papers, the newest added first."""

from __future__ import annotations

from datetime import datetime

from django.contrib.syndication.views import Feed
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape

from readinglists import selectors
from readinglists.models import Collection, CollectionItem


class CollectionFeed(Feed[CollectionItem, Collection]):
    feed_type = Atom1Feed

    def get_object(self, request: HttpRequest, handle: str, slug: str) -> Collection:
        found = selectors.collection_for(request.user, handle, slug)
        if found is None:
            raise Http404("No such collection")
        return found

    def title(self, collection: Collection) -> str:
        return f"{collection.name}, a collection by {collection.owner.public_name}"

    def link(self, collection: Collection) -> str:
        return reverse("readinglists:detail", args=[collection.owner.username, collection.slug])

    def subtitle(self, collection: Collection) -> str:
        return collection.description or collection.name

    def items(self, collection: Collection) -> list[CollectionItem]:
        return sorted(selectors.collection_items(collection), key=lambda i: i.added_at)[::-1][:50]

    def item_title(self, item: CollectionItem) -> str:
        return item.paper.title

    def item_description(self, item: CollectionItem) -> str:
        return escape(item.note or item.paper.abstract)  # text, never markup, in the feed

    def item_link(self, item: CollectionItem) -> str:
        return reverse("papers:paper", args=[item.paper.arxiv_id])

    def item_pubdate(self, item: CollectionItem) -> datetime:
        return item.added_at

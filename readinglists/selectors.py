"""Reads for collections."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from accounts.models import User
from readinglists.models import Collection, CollectionItem, Visibility


def collection_for(user: object, handle: str, slug: str) -> Collection | None:
    """The collection, if this user may see it (None, a 404, for a private one of others)."""
    return (
        Collection.objects.readable_by(user)
        .select_related("owner")
        .filter(owner__username=handle, slug=slug)
        .first()
    )


def collection_items(collection: Collection) -> list[CollectionItem]:
    """Its items in order, with their papers: one query."""
    return list(collection.items.select_related("paper").filter(paper__hidden=False))


def member_collections(user: User) -> QuerySet[Collection]:
    """Collections the member owns or edits, with their sizes, the newest first."""
    return (
        Collection.objects.filter(Q(owner=user) | Q(editors=user))
        .select_related("owner")
        .annotate(size=Count("items", distinct=True))
        .distinct()
    )


def public_collections(user: User) -> QuerySet[Collection]:
    return (
        Collection.objects.filter(owner=user, visibility=Visibility.PUBLIC)
        .select_related("owner")
        .annotate(size=Count("items"))
    )


SAVED_FOR_TASTE = 200


def saved_papers(user: User) -> list[tuple[int, str]]:
    """The papers in the member's own collections, the latest saved first, with why they
    count for their "For you" feed (papers/foryou.py)."""
    rows = (
        CollectionItem.objects.filter(collection__owner=user)
        .order_by("-added_at")
        .values_list("paper_id", "paper__title", "collection__name")[:SAVED_FOR_TASTE]
    )
    return [(pk, f"you saved “{title}” in “{name}”") for pk, title, name in rows]

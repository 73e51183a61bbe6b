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

"""Collections: named, ordered lists of papers with a note per item, kept by an owner and
the editors they invite (a reading club's weekly list)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from papers.models import Paper


class Visibility(models.TextChoices):
    PUBLIC = "public", "Public: listed on your profile"
    UNLISTED = "unlisted", "Unlisted: anyone with the link"
    PRIVATE = "private", "Private: you and your editors"


class CollectionQuerySet(models.QuerySet["Collection"]):
    def readable_by(self, user: object) -> CollectionQuerySet:
        """What this user may open: public and unlisted ones, and their own or shared."""
        shown = Q(visibility__in=[Visibility.PUBLIC, Visibility.UNLISTED])
        if getattr(user, "is_authenticated", False):
            pk = getattr(user, "pk", None)
            shown |= Q(owner_id=pk) | Q(editors__id=pk)
        return self.filter(shown).distinct()


class Collection(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="collections"
    )
    editors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="edited_collections"
    )
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=110)
    description = models.TextField(blank=True, max_length=2000)
    visibility = models.CharField(
        max_length=8, choices=Visibility.choices, default=Visibility.PRIVATE
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CollectionQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "slug"], name="collection_slug_per_owner"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.owner_id})"


class CollectionItem(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="items")
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="collection_items")
    position = models.PositiveIntegerField()
    note = models.TextField(blank=True, max_length=2000)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["collection", "paper"], name="collection_item_once"),
        ]

    def __str__(self) -> str:
        return f"{self.collection_id}: {self.paper_id} at {self.position}"

"""Keeping vote counters true when members go: deleting a member (in the admin, or any
other way) deletes their votes by cascade, which would leave each paper's counter high."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import F
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from papers import caching
from papers.caching import PaperRef
from papers.models import Paper


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="papers-votes-of-deleted")
def take_back_votes_of_deleted_member(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Count the member's votes out before the cascade deletes them, in the same
    transaction as the delete."""
    voted = Paper.objects.filter(upvotes__user=instance)
    touched = [PaperRef(*row) for row in voted.values_list("arxiv_id", "listed_on")]
    if voted.update(upvote_count=F("upvote_count") - 1):
        caching.changed(papers=touched, member_id=instance.pk)

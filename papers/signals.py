"""Keeping vote counters true when members go: deleting a member (in the admin, or any
other way) deletes their votes by cascade, which would leave each paper's counter high."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from papers.models import Paper
from papers.selectors import bump_feed_version


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="papers-votes-of-deleted")
def take_back_votes_of_deleted_member(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Count the member's votes out before the cascade deletes them, in the same
    transaction as the delete."""
    if Paper.objects.filter(upvotes__user=instance).update(upvote_count=F("upvote_count") - 1):
        transaction.on_commit(bump_feed_version)

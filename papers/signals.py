"""What papers must hear about members: a member who goes takes their votes with them
(deleting a member deletes their votes by cascade, which would leave each paper's counter
high), and a member's public name shows on the papers they submitted."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import F
from django.db.models.signals import post_save, pre_delete
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


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="papers-submitter-renamed")
def show_the_submitters_new_name(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A new display name or handle shows on the pages of the papers they submitted."""
    fields = kwargs.get("update_fields")
    if fields is not None and not {"display_name", "username"} & set(fields):
        return
    submitted = Paper.objects.filter(submitted_by=instance)
    touched = [PaperRef(*row) for row in submitted.values_list("arxiv_id", "listed_on")]
    if touched:
        caching.changed(papers=touched)

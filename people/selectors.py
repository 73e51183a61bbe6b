"""Reads for the member's profile page (API token reads are in accounts.selectors)."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import User
from digests.models import Subscription
from digests.selectors import subscription_for_user
from papers.models import Paper
from papers.selectors import user_upvoted_papers

PROFILE_PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class Profile:
    upvoted: list[Paper]
    page: int
    has_next: bool
    subscription: Subscription | None

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def start(self) -> int:
        """The position of the first paper on this page, counting from 1."""
        return (self.page - 1) * PROFILE_PAGE_SIZE + 1


def member_profile(*, user: User, page: int = 1) -> Profile:
    """One page of the member's upvoted papers, most recent vote first, and their digest
    subscription: two queries (no COUNT: one row more than a page tells if another follows)."""
    page = max(page, 1)
    start = (page - 1) * PROFILE_PAGE_SIZE
    upvoted = list(user_upvoted_papers(user)[start : start + PROFILE_PAGE_SIZE + 1])
    return Profile(
        upvoted=upvoted[:PROFILE_PAGE_SIZE],
        page=page,
        has_next=len(upvoted) > PROFILE_PAGE_SIZE,
        subscription=subscription_for_user(user),
    )

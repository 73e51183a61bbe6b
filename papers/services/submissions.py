"""Submissions: a member adds a paper by arXiv id, read from arXiv and listed today.

Limits: SUBMISSION_ATTEMPTS_PER_HOUR attempts (each may cost a call to arXiv), one in
flight at a time, and SUBMISSIONS_PER_DAY new papers, checked under a lock on the member's
row so that concurrent submissions cannot pass it together.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from caching.store import CACHE_DOWN
from config import ratelimit
from papers import caching
from papers.models import Paper
from papers.services.ingestion import papers_upsert
from papers.sources.records import (
    PaperRecord,
    ParsedItem,
    SourceError,
    is_valid_arxiv_id,
    split_arxiv_id,
)


class SubmissionError(Exception):
    """A submission that cannot be accepted; the message says why."""


class SubmissionRefused(SubmissionError):
    """Too many attempts, or one still in flight: try again after `wait` seconds."""

    def __init__(self, message: str, *, wait: float) -> None:
        super().__init__(message)
        self.wait = wait


# How long a member's submission may spend asking arXiv (its retries included): while it
# does, the member's next submission waits.
SUBMISSION_FETCH_SECONDS = 120


@dataclass(frozen=True, slots=True)
class Submission:
    paper: Paper
    created: bool  # False: the paper was already here


def submissions_left_today(*, user: User, today: date) -> int:
    """How many more papers the member may submit today."""
    used = Paper.objects.filter(submitted_by=user, created_at__date=today).count()
    return max(0, settings.SUBMISSIONS_PER_DAY - used)


def paper_submit(
    *, user: User, arxiv_id: str, fetch: Callable[[list[str]], list[ParsedItem]]
) -> Submission:
    """Add a paper by arXiv id, listed today with its submitter; an existing one is returned.

    `fetch` reads the metadata (arXiv's API in production). Raises SubmissionError.
    """
    arxiv_id, _version = split_arxiv_id(arxiv_id)
    if not is_valid_arxiv_id(arxiv_id):
        raise SubmissionError(f"{arxiv_id[:80]!r} is not an arXiv id (like 2401.12345)")
    # Every attempt counts, a paper arXiv does not have included: each one may cost a call.
    allowed, wait = ratelimit.take(
        f"submit-attempts:{user.pk}", settings.SUBMISSION_ATTEMPTS_PER_HOUR, 3600
    )
    if not allowed:
        raise SubmissionRefused("Too many submission attempts; try again later.", wait=wait)
    existing = Paper.objects.filter(arxiv_id=arxiv_id).first()
    if existing is not None:
        return Submission(paper=existing, created=False)
    today = timezone.now().date()
    _check_quota(user=user, today=today)
    # One submission at a time per member: the call to arXiv can take a while.
    in_flight = f"submit-in-flight:{user.pk}"
    if not _mark_in_flight(in_flight):
        raise SubmissionRefused(
            "Your previous submission is still being read from arXiv; try again in a moment.",
            wait=10,
        )
    try:
        try:
            items = fetch([arxiv_id])
        except SourceError as exc:
            raise SubmissionError(f"arXiv could not be reached: {exc}") from exc
        records = [i for i in items if isinstance(i, PaperRecord) and i.arxiv_id == arxiv_id]
        if not records:
            raise SubmissionError(f"arXiv has no paper {arxiv_id}.")
        return _add_submitted(user=user, record=records[-1], today=today)
    finally:
        with contextlib.suppress(*CACHE_DOWN):
            cache.delete(in_flight)


def _mark_in_flight(key: str) -> bool:
    """Mark a member's submission as being read from arXiv; False if one already is. With
    the cache down, the lock on their row still keeps their daily quota."""
    try:
        return bool(cache.add(key, 1, timeout=SUBMISSION_FETCH_SECONDS))
    except CACHE_DOWN:
        return True


def _check_quota(*, user: User, today: date) -> None:
    if submissions_left_today(user=user, today=today) <= 0:
        raise SubmissionError(
            f"You can submit {settings.SUBMISSIONS_PER_DAY} papers a day; try again tomorrow."
        )


@transaction.atomic
def _add_submitted(*, user: User, record: PaperRecord, today: date) -> Submission:
    """Write the paper with its submitter, the member's quota checked under a lock on their
    row: two submissions of one member at once cannot both pass it."""
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    _check_quota(user=user, today=today)
    record.listed_on = today
    result = papers_upsert(items=[record], today=today)
    if result.rejected:
        raise SubmissionError(
            f"arXiv's record for {record.arxiv_id} is unusable: {result.rejected[0].reason}"
        )
    paper = Paper.objects.get(arxiv_id=record.arxiv_id)
    created = Paper.objects.filter(pk=paper.pk, submitted_by=None).update(
        submitted_by=user, listed_on=today
    )
    paper.refresh_from_db()
    caching.changed(papers=[paper], catalog=True)
    return Submission(paper=paper, created=bool(created))

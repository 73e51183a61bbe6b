"""Posting the top papers to each channel once per period, as digests are mailed: a post is
created when its period is due, claimed by a compare-and-set before it is sent, retried
with backoff on 429 and 5xx (never sooner than the service's Retry-After), and never
posted twice: one interrupted while sending is marked failed, for staff to post again."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from django.db.models import F
from django.utils import timezone

from broadcasts.formats import payload
from broadcasts.models import Channel, Post
from config import metrics
from digests.models import Frequency
from digests.periods import DigestPeriod, digest_period, due_period
from digests.selectors import DigestPaper, digest_papers, select_papers
from papers.sources.http import USER_AGENT, retry_after_seconds

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
TIMEOUT_SECONDS = 10.0
STUCK_AFTER = timedelta(minutes=10)  # a post `sending` this long was interrupted
LONGEST_WAIT = timedelta(hours=2)
MONDAY = 0


@dataclass
class PostReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0

    def __str__(self) -> str:
        return (
            f"{self.sent} sent, {self.retrying} to retry, {self.failed} failed, "
            f"{self.skipped} skipped"
        )


class Transient(Exception):
    """The service is busy or down: try again, not before `wait`."""

    def __init__(self, message: str, wait: timedelta) -> None:
        super().__init__(message)
        self.wait = wait


class Refused(Exception):
    """The service refused the post (a wrong or deleted webhook): trying again won't help."""


def post_due(*, now: datetime | None = None) -> PostReport:
    """Plan the posts whose period is due, then send every pending post whose time came."""
    now = now or timezone.now()
    _fail_interrupted(now)
    _plan(now)
    report = PostReport()
    papers: dict[str, list[DigestPaper]] = {}
    due = Post.objects.filter(status=Post.Status.PENDING, next_attempt_at__lte=now)
    for post in due.select_related("channel").order_by("id"):
        if _claim(post, now):
            outcome = _send(post, papers, report, now)
            metrics.CHANNEL_POSTS.labels(kind=post.channel.kind, outcome=outcome).inc()
    return report


def _plan(now: datetime) -> None:
    """A pending post for each active channel whose period is due (once: the constraint
    on channel and period makes a second one impossible)."""
    today = now.date()
    for channel in Channel.objects.filter(active=True, send_hour__lte=now.hour):
        if channel.frequency == Frequency.WEEKLY and today.weekday() != MONDAY:
            continue
        period = due_period(channel.frequency, today)
        if period is not None:
            Post.objects.get_or_create(
                channel=channel, period=period.key, defaults={"next_attempt_at": now}
            )


def _fail_interrupted(now: datetime) -> None:
    """Posts left `sending` by a worker that stopped: sent again if their request never
    began, failed if it did (it may have been posted)."""
    stuck = Post.objects.filter(status=Post.Status.SENDING, claimed_at__lt=now - STUCK_AFTER)
    stuck.filter(posting_at__isnull=True).update(status=Post.Status.PENDING, next_attempt_at=now)
    count = stuck.filter(posting_at__isnull=False).update(
        status=Post.Status.FAILED,
        error="Interrupted while sending (the worker stopped). It may have been posted, so it "
        "is not posted again by itself: use “Post again” to send it.",
    )
    if count:
        logger.warning("channels: %s posts interrupted while sending, marked failed", count)


def _claim(post: Post, now: datetime) -> bool:
    """pending and due → sending, in one statement: True if this process got it."""
    claimed = Post.objects.filter(
        pk=post.pk, status=Post.Status.PENDING, next_attempt_at__lte=now
    ).update(
        status=Post.Status.SENDING, claimed_at=now, posting_at=None, attempts=F("attempts") + 1
    )
    if claimed:
        post.attempts += 1
    return claimed == 1


def _papers(period: DigestPeriod, cache: dict[str, list[DigestPaper]]) -> list[DigestPaper]:
    key = f"{period.frequency}:{period.key}"
    if key not in cache:
        cache[key] = digest_papers(period)
    return cache[key]


def _send(
    post: Post, cache: dict[str, list[DigestPaper]], report: PostReport, now: datetime
) -> str:
    """Send the claimed post; what became of it (sent, skipped, retrying, failed)."""
    channel = post.channel
    period = digest_period(channel.frequency, post.period)
    papers = select_papers(_papers(period, cache), channel.keywords, channel.paper_count)
    mine = Post.objects.filter(pk=post.pk, status=Post.Status.SENDING)
    if not papers:
        mine.update(status=Post.Status.SKIPPED, error="No paper of the period matched.")
        report.skipped += 1
        return "skipped"
    body = payload(channel.kind, period, papers)
    mine.update(posting_at=timezone.now())  # from here on, it may reach the service
    try:
        deliver(channel.url, body)
    except Transient as exc:
        error = f"attempt {post.attempts}: {exc}"[:2000]
        logger.warning("channel %s, %s: %s", channel.pk, post.period, error)
        if post.attempts >= MAX_ATTEMPTS:
            mine.update(status=Post.Status.FAILED, error=error)
            report.failed += 1
            return "failed"
        wait = max(exc.wait, backoff(post.attempts))
        mine.update(status=Post.Status.PENDING, next_attempt_at=now + wait, error=error)
        report.retrying += 1
        return "retrying"
    except Refused as exc:
        mine.update(status=Post.Status.FAILED, error=f"attempt {post.attempts}: {exc}"[:2000])
        report.failed += 1
        logger.warning("channel %s, %s: %s", channel.pk, post.period, exc)
        return "failed"
    mine.update(status=Post.Status.SENT, sent_at=timezone.now(), paper_count=len(papers), error="")
    report.sent += 1
    return "sent"


def backoff(attempt: int) -> timedelta:
    """1, 2, 4, 8 … minutes after the attempt that failed, two hours at most."""
    return min(timedelta(minutes=2 ** (attempt - 1)), LONGEST_WAIT)


def deliver(url: str, body: dict[str, object]) -> None:
    """POST the message; Transient or Refused when it did not go through."""
    try:
        response = httpx.post(
            url,
            json=body,
            headers={"User-Agent": USER_AGENT},
            timeout=TIMEOUT_SECONDS,
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        raise Transient(f"{type(exc).__name__}: {exc}", timedelta(0)) from exc
    if response.is_success:
        return
    said = f"HTTP {response.status_code}: {response.text[:300]}"
    if response.status_code == 429 or response.status_code >= 500:
        raise Transient(said, retry_after(response))
    raise Refused(said)


def retry_after(response: httpx.Response) -> timedelta:
    """How long the service asked us to wait: Retry-After in seconds or as a date, or
    Discord's `retry_after` in the body; nothing when it did not say."""
    asked = retry_after_seconds(response)
    if asked is not None:
        return _bounded(timedelta(seconds=asked))
    try:
        seconds = float(response.json().get("retry_after", 0))
    except (ValueError, AttributeError):
        seconds = 0.0
    return _bounded(timedelta(seconds=seconds))


def _bounded(wait: timedelta) -> timedelta:
    return min(max(wait, timedelta(0)), LONGEST_WAIT)


def post_again(posts: list[Post]) -> int:
    """Staff: send these failed posts again (from the first attempt)."""
    return Post.objects.filter(
        pk__in=[post.pk for post in posts], status=Post.Status.FAILED
    ).update(status=Post.Status.PENDING, next_attempt_at=timezone.now(), attempts=0, error="")

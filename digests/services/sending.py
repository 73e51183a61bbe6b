"""Sending digests: each active subscriber's digest of a period, exactly once.

How a digest goes out exactly once
----------------------------------
`digests_send_due` first creates one Delivery row per active subscriber for the period
(`(subscription, period)` is unique, so a second run, a second worker or a second beat
creates nothing). It then walks the pending rows in batches, one SMTP connection per batch.
For each subscriber it builds the message, claims the row with a compare-and-set UPDATE
(`pending` → `sending`, only if still pending and due), sends, and records `sent`. A row
claimed by another process is left alone; a row never claimed stays `pending` and the next
run (or `send_retries`, every DIGEST_RETRY_EVERY_MINUTES) sends it, so a crash mid-batch
loses nothing. A temporary failure (network, 4xx) puts the row back to `pending` with an
exponential backoff with jitter, up to DIGEST_MAX_ATTEMPTS attempts; a permanent one (5xx)
or the last attempt marks it `failed` with the server's answer, shown in the admin.

If the process dies between the SMTP server accepting a message and the `sent` UPDATE
(a window of one message per worker), the row stays `sending`: nobody can tell whether the
mail went out. Such a row is never resent automatically; after DIGEST_STALE_AFTER_MINUTES,
`send_retries` marks it `failed` as interrupted, and an operator may "Send again" from the
admin. The digest is therefore delivered at most once: in that rare case a subscriber may
miss one digest, but never receives two.
"""

from __future__ import annotations

import logging
import random
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.db import connection as db_connection
from django.db import connections
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from config import metrics
from digests import mail
from digests.models import Delivery, Subscription
from digests.periods import DigestPeriod, digest_period, due_period
from digests.selectors import DigestPaper, digest_papers, select_papers
from papers.follows import followed_by
from papers.foryou import taste

logger = logging.getLogger(__name__)

PLAN_BATCH = 1000
INTERRUPTED = (
    "interrupted while sending: the process stopped between claiming this digest and "
    "recording the result, so it may or may not have been delivered. It is not resent "
    "automatically; use 'Send again' to resend it."
)


@dataclass
class SendReport:
    """What one run did for one period."""

    frequency: str
    period: str
    papers: int = 0
    planned: int = 0
    sent: int = 0
    skipped: int = 0
    retrying: int = 0
    failed: int = 0
    busy: int = 0
    dry_run: bool = False

    def add(self, other: SendReport) -> None:
        """Count in what another part of the same run did."""
        for name in ("sent", "skipped", "retrying", "failed", "busy"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def count(self) -> None:
        """Add what this run did to the metrics."""
        for outcome in ("sent", "skipped", "retrying", "failed"):
            if done := getattr(self, outcome):
                metrics.DIGESTS.labels(frequency=self.frequency, outcome=outcome).inc(done)

    def summary(self) -> str:
        head = f"{self.frequency} {self.period}: {self.papers} papers"
        if self.dry_run:
            return (
                f"{head}; dry run: would send {self.sent}, "
                f"skip {self.skipped} (no matching paper), {self.planned} not yet handled"
            )
        return (
            f"{head}; {self.planned} new deliveries; sent {self.sent}, skipped {self.skipped}, "
            f"retrying {self.retrying}, failed {self.failed}, busy elsewhere {self.busy}"
        )


def digests_send_due(
    *,
    frequency: str,
    period: DigestPeriod | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> SendReport | None:
    """Send the period's digest to every active subscriber of `frequency` who has not had it.

    `period` defaults to the one due today (UTC); None is returned when none is due (a
    daily digest at the weekend). No papers in the period: no mail and no deliveries.
    """
    now = now or timezone.now()
    period = period or due_period(frequency, now.date())
    if period is None:
        return None
    report = SendReport(frequency=frequency, period=period.key, dry_run=dry_run)
    papers = digest_papers(period)
    report.papers = len(papers)
    if not papers:
        logger.info("digests %s %s: no papers; nothing sent", frequency, period.key)
        return report
    if dry_run:
        return _dry_run(period, papers, report)
    report.planned = _plan(period, now)
    _send_pending(period, papers, report)
    report.count()
    logger.info("digests %s", report.summary())
    return report


def deliveries_send_retries(*, now: datetime | None = None) -> list[SendReport]:
    """Send the pending deliveries that are due (retries after a temporary failure, the rest
    of an interrupted run), and mark deliveries stuck in `sending` as interrupted."""
    now = now or timezone.now()
    stale = now - timedelta(minutes=settings.DIGEST_STALE_AFTER_MINUTES)
    interrupted = Delivery.objects.filter(
        status=Delivery.Status.SENDING, claimed_at__lt=stale
    ).update(status=Delivery.Status.FAILED, error=INTERRUPTED, updated_at=now)
    if interrupted:
        logger.warning("%d digest deliveries were interrupted while sending", interrupted)
    due = (
        Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        .values_list("frequency", "period")
        .distinct()
        .order_by()
    )
    reports = []
    for frequency, key in list(due):
        period = digest_period(frequency, key)
        report = SendReport(frequency=frequency, period=key)
        if too_late(period, now):
            report.skipped = _skip_late(period, now)
        else:
            papers = digest_papers(period)
            report.papers = len(papers)
            _send_pending(period, papers, report)
        report.count()
        reports.append(report)
    return reports


def too_late(period: DigestPeriod, now: datetime) -> bool:
    """Whether the period's digest is past sending: DIGEST_LATE_AFTER_DAYS after its day."""
    due = period.last + timedelta(days=1)  # sent the day after the period ends
    return now.date() > due + timedelta(days=settings.DIGEST_LATE_AFTER_DAYS)


def _skip_late(period: DigestPeriod, now: datetime) -> int:
    reason = (
        f"too late: due {period.last + timedelta(days=1)}, not sent more than "
        f"{settings.DIGEST_LATE_AFTER_DAYS} days after (DIGEST_LATE_AFTER_DAYS)"
    )
    skipped = Delivery.objects.filter(
        frequency=period.frequency, period=period.key, status=Delivery.Status.PENDING
    ).update(status=Delivery.Status.SKIPPED, error=reason, updated_at=now)
    logger.warning("digests %s %s: %d skipped, %s", period.frequency, period.key, skipped, reason)
    return skipped


def deliveries_resend(*, deliveries: QuerySet[Delivery]) -> int:
    """Put failed deliveries back in the queue (an operator's decision: an interrupted one
    may have been delivered already)."""
    now = timezone.now()
    return deliveries.filter(status=Delivery.Status.FAILED).update(
        status=Delivery.Status.PENDING, attempts=0, next_attempt_at=now, error="", updated_at=now
    )


def _plan(period: DigestPeriod, now: datetime) -> int:
    """Create the period's Delivery rows for active subscribers that have none yet."""
    subscribers = (
        Subscription.objects.active()
        .filter(frequency=period.frequency, confirmed_at__lte=now)
        .exclude(deliveries__period=period.key)
        .values_list("pk", flat=True)
        .order_by("pk")
    )
    rows = [
        Delivery(subscription_id=pk, frequency=period.frequency, period=period.key)
        for pk in subscribers
    ]
    for start in range(0, len(rows), PLAN_BATCH):
        # ignore_conflicts: a concurrent run that planned the same rows wins, harmlessly.
        Delivery.objects.bulk_create(rows[start : start + PLAN_BATCH], ignore_conflicts=True)
    return len(rows)


def _dry_run(period: DigestPeriod, papers: list[DigestPaper], report: SendReport) -> SendReport:
    handled = Delivery.objects.filter(period=period.key).exclude(status=Delivery.Status.PENDING)
    subscribers = (
        Subscription.objects.active()
        .filter(frequency=period.frequency)
        .exclude(pk__in=handled.values("subscription_id"))
        .values_list("keywords", "user_id", "categories")
    )
    followed = followed_by(user_id for _keywords, user_id, _cats in subscribers if user_id)
    matches: dict[tuple[object, ...], bool] = {}
    for keywords, user_id, cats in subscribers:
        report.planned += 1
        words = tuple(sorted({k.lower() for k in keywords or []}))
        wanted = tuple(sorted(set(cats or [])))
        follows = followed.get(user_id or 0)
        key = (words, wanted, follows.signature if follows else ())
        if key not in matches:
            matches[key] = bool(select_papers(papers, words, 1, follows, categories=wanted))
        if matches[key]:
            report.sent += 1
        else:
            report.skipped += 1
    return report


def _backoff(attempt: int) -> timedelta:
    """Exponential backoff with jitter: about base * 2**(attempt - 1) seconds."""
    base = settings.DIGEST_RETRY_BACKOFF_SECONDS * 2 ** (attempt - 1)
    return timedelta(seconds=base * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not crypto


def _batches(period: DigestPeriod) -> Iterator[list[Delivery]]:
    """The period's due pending deliveries with their subscriptions, DIGEST_BATCH_SIZE at a time."""
    pending = Delivery.objects.filter(
        frequency=period.frequency, period=period.key, status=Delivery.Status.PENDING
    )
    last_pk = 0
    while True:
        batch = list(
            pending.filter(pk__gt=last_pk, next_attempt_at__lte=timezone.now())
            .select_related("subscription")
            .order_by("pk")[: settings.DIGEST_BATCH_SIZE]
        )
        if not batch:
            return
        last_pk = batch[-1].pk
        yield batch


def _send_pending(period: DigestPeriod, papers: list[DigestPaper], report: SendReport) -> None:
    """Send the due pending deliveries of a period, one SMTP connection per batch.

    Batches go out on DIGEST_SEND_CONCURRENCY threads (each with its own database and SMTP
    connection): sending is mostly waiting for the two servers. On SQLite (one writer at a
    time) and inside a transaction (the rows would be invisible to the other threads) they
    go out one after the other.
    """
    renderer = mail.DigestRenderer(period, papers, top_n=settings.DIGEST_TOP_N)
    threads = settings.DIGEST_SEND_CONCURRENCY
    if threads <= 1 or db_connection.in_atomic_block or db_connection.vendor == "sqlite":
        for batch in _batches(period):
            _send_batch(batch, renderer, report)
        return
    results: deque[Future[SendReport]] = deque()
    executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="digests")
    try:
        for batch in _batches(period):
            if len(results) >= 2 * threads:  # read ahead a little, not the whole period
                report.add(results.popleft().result())
            results.append(executor.submit(_send_batch_in_thread, batch, renderer, period))
        while results:
            report.add(results.popleft().result())
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _send_batch_in_thread(
    batch: list[Delivery], renderer: mail.DigestRenderer, period: DigestPeriod
) -> SendReport:
    report = SendReport(frequency=period.frequency, period=period.key)
    try:
        _send_batch(batch, renderer, report)
    finally:
        connections.close_all()  # this thread's connections
    return report


def _send_batch(batch: list[Delivery], renderer: mail.DigestRenderer, report: SendReport) -> None:
    """Claim, send and record each delivery of the batch, one at a time, on one connection.

    A sent message is recorded by the statement that claims the next one (one round trip and
    one commit per message), the batch's last by a statement of its own at the end: always
    after the server accepted the message, never before.
    """
    sent_unrecorded: tuple[Delivery, mail.Outgoing] | None = None
    followed = followed_by(d.subscription.user_id for d in batch if d.subscription.user_id)
    tastes = _tastes(batch)
    connection = mail.Connection()
    try:
        for delivery in batch:
            subscription = delivery.subscription
            if not subscription.is_active:
                _skip(delivery, "unsubscribed before sending", report)
                continue
            member = subscription.user_id or 0
            outgoing = renderer.message(subscription, followed.get(member), tastes.get(member))
            if outgoing is None:
                _skip(delivery, "no paper of the period matches the keywords", report)
                continue
            claimed = _record_sent_and_claim(sent=sent_unrecorded, claim=delivery)
            sent_unrecorded = None
            if not claimed:
                report.busy += 1  # another worker has it, or it was unsubscribed meanwhile
                continue
            try:
                connection.send(outgoing)
            except mail.MailError as exc:
                _record_failure(delivery, exc, report)
                continue
            sent_unrecorded = (delivery, outgoing)
            report.sent += 1
    finally:
        if sent_unrecorded is not None:
            _record_sent_and_claim(sent=sent_unrecorded, claim=None)
        connection.close()


def _tastes(batch: list[Delivery]) -> dict[int, np.ndarray]:
    """The "For you" tastes of the batch's members who asked for them (one query for the
    members; each taste is kept in the cache between digests)."""
    wanted = {
        d.subscription.user_id
        for d in batch
        if d.subscription.for_you and d.subscription.user_id is not None
    }
    members = User.objects.filter(pk__in=wanted, is_active=True)
    tastes = {member.pk: taste(member).vector for member in members}
    return {pk: vector for pk, vector in tastes.items() if vector is not None}


def _skip(delivery: Delivery, reason: str, report: SendReport) -> None:
    Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.SKIPPED, error=reason, updated_at=timezone.now()
    )
    report.skipped += 1


_RECORD_SENT_AND_CLAIM_SQL = """
UPDATE {table} SET
    status = CASE WHEN id = %(sent)s THEN %(SENT)s ELSE %(SENDING)s END,
    sent_at = CASE WHEN id = %(sent)s THEN %(now)s ELSE sent_at END,
    message_id = CASE WHEN id = %(sent)s THEN %(message_id)s ELSE message_id END,
    paper_count = CASE WHEN id = %(sent)s THEN %(paper_count)s ELSE paper_count END,
    error = CASE WHEN id = %(sent)s THEN '' ELSE error END,
    claimed_at = CASE WHEN id = %(claim)s THEN %(now)s ELSE claimed_at END,
    attempts = CASE WHEN id = %(claim)s THEN attempts + 1 ELSE attempts END,
    updated_at = %(now)s
WHERE (id = %(sent)s AND status = %(SENDING)s)
   OR (id = %(claim)s AND status = %(PENDING)s AND next_attempt_at <= %(now)s)
RETURNING id
"""


def _record_sent_and_claim(
    *, sent: tuple[Delivery, mail.Outgoing] | None, claim: Delivery | None
) -> bool:
    """Record a sent digest (sending → sent) and claim the next one, in one statement;
    either may be None.

    The claim is the compare-and-set: pending and due → sending; True if this process got
    it, False if another one did first. One statement, so one round trip and one commit per
    message: the ORM would need two updates and a transaction, several times slower on a
    hot path that runs once per subscriber.
    """
    sent_delivery, outgoing = sent if sent is not None else (None, None)
    params = {
        "sent": sent_delivery.pk if sent_delivery is not None else None,
        "message_id": outgoing.message_id if outgoing is not None else "",
        "paper_count": outgoing.paper_count if outgoing is not None else 0,
        "claim": claim.pk if claim is not None else None,
        "now": timezone.now(),
        "PENDING": Delivery.Status.PENDING.value,
        "SENDING": Delivery.Status.SENDING.value,
        "SENT": Delivery.Status.SENT.value,
    }
    table = db_connection.ops.quote_name(Delivery._meta.db_table)
    with db_connection.cursor() as cursor:
        cursor.execute(_RECORD_SENT_AND_CLAIM_SQL.format(table=table), params)
        changed = {row[0] for row in cursor.fetchall()}
    return claim is not None and claim.pk in changed


def _record_failure(delivery: Delivery, exc: mail.MailError, report: SendReport) -> None:
    attempts = delivery.attempts + 1
    now = timezone.now()
    error = f"attempt {attempts}: {exc}"[:2000]
    sending = Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING)
    if isinstance(exc, mail.TransientMailError) and attempts < settings.DIGEST_MAX_ATTEMPTS:
        sending.update(
            status=Delivery.Status.PENDING,
            next_attempt_at=now + _backoff(attempts),
            error=error,
            updated_at=now,
        )
        report.retrying += 1
    else:
        sending.update(status=Delivery.Status.FAILED, error=error, updated_at=now)
        report.failed += 1
    logger.warning(
        "digest %s to subscription %s: %s", delivery.period, delivery.subscription_id, error
    )

"""Writes for digests: double opt-in subscriptions, their options, unsubscribing, and sending
each subscriber's digest exactly once per period.

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
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.db import connection as db_connection
from django.db.models import QuerySet
from django.utils import timezone

from digests import mail, ratelimit
from digests.models import Delivery, Subscription, new_nonce
from digests.periods import DigestPeriod, due_period, parse_period
from digests.selectors import DigestPaper, confirmation_token, digest_papers, select_papers

logger = logging.getLogger(__name__)

CONFIRM = "confirm"
REMINDER = "reminder"
ALREADY_SUBSCRIBED = "already-subscribed"
MAIL_KINDS = (CONFIRM, REMINDER, ALREADY_SUBSCRIBED)
PLAN_BATCH = 1000
INTERRUPTED = (
    "interrupted while sending: the process stopped between claiming this digest and "
    "recording the result, so it may or may not have been delivered. It is not resent "
    "automatically; use 'Send again' to resend it."
)


def normalize_email(email: str) -> str:
    """Addresses are compared and stored in lower case."""
    return email.strip().lower()


def _enqueue_mail(subscription_id: int, kind: str) -> None:
    from digests import tasks

    # robust: a broker that cannot be reached is logged; the form still answers (and asking
    # again sends the reminder).
    transaction.on_commit(
        partial(tasks.send_subscription_mail.delay, subscription_id, kind), robust=True
    )


def _link_expires_at(subscription: Subscription) -> datetime | None:
    sent = [t for t in (subscription.confirmation_sent_at, subscription.reminder_sent_at) if t]
    if not sent:
        return None
    return max(sent) + timedelta(hours=settings.DIGEST_CONFIRM_MAX_AGE_HOURS)


def _locked_subscription(email: str, defaults: dict[str, Any]) -> tuple[Subscription, bool]:
    subscription = Subscription.objects.select_for_update().filter(email=email).first()
    if subscription is not None:
        return subscription, False
    try:
        with transaction.atomic():
            return Subscription.objects.create(email=email, **defaults), True
    except IntegrityError:  # created by a concurrent request
        return Subscription.objects.select_for_update().get(email=email), False


def subscription_request(
    *,
    email: str,
    frequency: str,
    keywords: list[str],
    user: Any = None,
    now: datetime | None = None,
) -> str | None:
    """Ask for digests at `email` (double opt-in); returns the kind of mail that goes out.

    New address: a confirmation link, nothing else until it is clicked. Unconfirmed: the
    options are replaced and one reminder goes out (a new confirmation once the link has
    expired). Already subscribed: a mail with the manage link, options unchanged.
    Unsubscribed: a new confirmation. Over DIGEST_SUBSCRIBE_PER_ADDRESS_PER_DAY: nothing.
    The caller answers the same in every case, so nobody learns whether the address was
    subscribed.
    """
    now = now or timezone.now()
    email = normalize_email(email)
    limit = settings.DIGEST_SUBSCRIBE_PER_ADDRESS_PER_DAY
    key = f"digests:subscribe:address:{ratelimit.address_key(email)}"
    if not ratelimit.allow(key, limit=limit, window=86400):
        logger.info("subscription request over the per-address limit; no mail")
        return None
    with transaction.atomic():
        subscription, created = _locked_subscription(
            email, {"frequency": frequency, "keywords": keywords, "confirmation_sent_at": now}
        )
        kind: str | None = None
        if created:
            kind = CONFIRM
        elif subscription.is_active:
            kind = ALREADY_SUBSCRIBED
        else:
            subscription.frequency, subscription.keywords = frequency, keywords
            expires = _link_expires_at(subscription)
            if subscription.unsubscribed_at is not None or expires is None or expires <= now:
                subscription.confirm_nonce = new_nonce()  # older links stop working
                subscription.confirmation_sent_at = now
                subscription.reminder_sent_at = None
                subscription.unsubscribed_at = None
                subscription.confirmed_at = None
                kind = CONFIRM
            elif subscription.reminder_sent_at is None:
                subscription.reminder_sent_at = now
                kind = REMINDER
        if (
            getattr(user, "is_authenticated", False)
            and subscription.user_id is None
            and normalize_email(user.email or "") == email
        ):
            subscription.user = user
        subscription.save()
        if kind is not None:
            _enqueue_mail(subscription.pk, kind)
    return kind


def subscription_send_mail(*, subscription: Subscription, kind: str) -> bool:
    """Send a subscription mail (confirmation, reminder, already subscribed) if still apt.

    Raises TransientMailError (the task retries it); a permanent refusal is logged.
    """
    if kind in (CONFIRM, REMINDER):
        if not subscription.is_pending:
            return False  # confirmed or gone meanwhile
        message = mail.confirmation_message(
            subscription,
            confirm_token=confirmation_token(subscription),
            reminder=kind == REMINDER,
        )
    elif kind == ALREADY_SUBSCRIBED:
        if not subscription.is_active:
            return False
        message = mail.already_subscribed_message(subscription)
    else:
        raise ValueError(f"unknown subscription mail {kind!r}")
    try:
        mail.send_one(message)
    except mail.PermanentMailError as exc:
        logger.warning("subscription %s: %s mail refused: %s", subscription.pk, kind, exc)
        return False
    return True


def subscription_confirm(*, subscription: Subscription, now: datetime | None = None) -> bool:
    """Confirm a pending subscription (the link was clicked); False if it already was."""
    now = now or timezone.now()
    confirmed = Subscription.objects.filter(
        pk=subscription.pk, confirmed_at=None, unsubscribed_at=None
    ).update(confirmed_at=now, updated_at=now)
    subscription.refresh_from_db()
    return bool(confirmed)


def subscription_update(
    *, subscription: Subscription, frequency: str, keywords: list[str]
) -> Subscription:
    """Change how often and about what the subscriber hears."""
    subscription.frequency = frequency
    subscription.keywords = keywords
    subscription.save(update_fields=["frequency", "keywords", "updated_at"])
    return subscription


@transaction.atomic
def subscription_unsubscribe(*, subscription: Subscription, now: datetime | None = None) -> bool:
    """Stop every digest to this address at once (idempotent); False if already stopped."""
    now = now or timezone.now()
    stopped = Subscription.objects.filter(pk=subscription.pk, unsubscribed_at=None).update(
        unsubscribed_at=now, updated_at=now
    )
    Delivery.objects.filter(subscription=subscription, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.SKIPPED, error="unsubscribed", updated_at=now
    )
    subscription.refresh_from_db()
    return bool(stopped)


def subscription_resubscribe(*, subscription: Subscription, now: datetime | None = None) -> None:
    """Undo an unsubscribe from the manage page. A subscription that was confirmed before
    is active again; one that never was stays pending and gets a new confirmation mail:
    resubscribing never skips the double opt-in."""
    now = now or timezone.now()
    Subscription.objects.filter(pk=subscription.pk).update(unsubscribed_at=None, updated_at=now)
    subscription.refresh_from_db()
    if subscription.confirmed_at is None:
        transaction.on_commit(lambda: _enqueue_mail(subscription.pk, CONFIRM))


def subscriptions_remind_unconfirmed(*, now: datetime | None = None) -> int:
    """Send the one reminder to addresses unconfirmed after DIGEST_CONFIRM_REMIND_AFTER_HOURS
    whose link has not expired yet; returns how many."""
    hours = settings.DIGEST_CONFIRM_REMIND_AFTER_HOURS
    if not hours:
        return 0
    now = now or timezone.now()
    due = Subscription.objects.pending().filter(
        reminder_sent_at=None,
        confirmation_sent_at__lte=now - timedelta(hours=hours),
        confirmation_sent_at__gt=now - timedelta(hours=settings.DIGEST_CONFIRM_MAX_AGE_HOURS),
    )
    reminded = 0
    for pk in list(due.values_list("pk", flat=True)[:PLAN_BATCH]):
        with transaction.atomic():
            claimed = Subscription.objects.filter(
                pk=pk, reminder_sent_at=None, confirmed_at=None
            ).update(reminder_sent_at=now)
            if claimed:
                _enqueue_mail(pk, REMINDER)
                reminded += 1
    return reminded


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
        period = parse_period(frequency, key)
        report = SendReport(frequency=frequency, period=key)
        if too_late(period, now):
            report.skipped = _skip_late(period, now)
            reports.append(report)
            continue
        papers = digest_papers(period)
        report.papers = len(papers)
        _send_pending(period, papers, report)
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


def subscriptions_purge_unconfirmed(*, now: datetime | None = None, dry_run: bool = False) -> int:
    """Delete the subscriptions nobody confirmed within DIGEST_UNCONFIRMED_PURGE_DAYS of
    asking (the address's owner never clicked: keeping it serves nobody); how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.DIGEST_UNCONFIRMED_PURGE_DAYS)
    stale = Subscription.objects.filter(confirmed_at=None, created_at__lt=cutoff)
    if dry_run:
        return stale.count()
    deleted, _by_model = stale.delete()
    return deleted


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
        .values_list("keywords", flat=True)
    )
    matches: dict[tuple[str, ...], bool] = {}
    for keywords in subscribers:
        report.planned += 1
        key = tuple(sorted({k.lower() for k in keywords or []}))
        if key not in matches:
            matches[key] = bool(select_papers(papers, key, 1))
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

    The `sent` of one message is written by the same statement that claims the next (one
    round trip and one commit per message); the last one is written at the end. Either way
    it is written after the server accepted the message, never before.
    """
    unrecorded: tuple[Delivery, mail.Outgoing] | None = None
    connection = mail.Connection()
    try:
        for delivery in batch:
            subscription = delivery.subscription
            if not subscription.is_active:
                _skip(delivery, "unsubscribed before sending", report)
                continue
            outgoing = renderer.message(subscription)
            if outgoing is None:
                _skip(delivery, "no paper of the period matches the keywords", report)
                continue
            claimed = _advance(recorded=unrecorded, claim=delivery)
            unrecorded = None
            if not claimed:
                report.busy += 1  # another worker has it, or it was unsubscribed meanwhile
                continue
            try:
                connection.send(outgoing)
            except mail.MailError as exc:
                _record_failure(delivery, exc, report)
                continue
            unrecorded = (delivery, outgoing)
            report.sent += 1
    finally:
        if unrecorded is not None:
            _advance(recorded=unrecorded, claim=None)
        connection.close()


def _skip(delivery: Delivery, reason: str, report: SendReport) -> None:
    Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.SKIPPED, error=reason, updated_at=timezone.now()
    )
    report.skipped += 1


_ADVANCE_SQL = """
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


def _advance(*, recorded: tuple[Delivery, mail.Outgoing] | None, claim: Delivery | None) -> bool:
    """Record a sent digest (sending → sent) and claim the next one, in one statement.

    The claim is the compare-and-set: pending and due → sending; True if this process got
    it, False if another one did first. One statement, so one round trip and one commit per
    message: the ORM would need two updates and a transaction, several times slower on a
    hot path that runs once per subscriber.
    """
    sent_delivery, outgoing = recorded if recorded is not None else (None, None)
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
        cursor.execute(_ADVANCE_SQL.format(table=table), params)
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

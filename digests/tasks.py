"""Thin tasks: load by id, call one service. The periodic ones hold a lock (config.celery)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from config.celery import retry_on_network, single_run
from digests.mail import TransientMailError
from digests.models import Subscription
from digests.periods import digest_period
from digests.services import sending, subscriptions

logger = logging.getLogger(__name__)

SKIPPED = "skipped"
SEND_SOFT_LIMIT = settings.DIGEST_SEND_TIME_LIMIT
SEND_HARD_LIMIT = settings.DIGEST_SEND_TIME_LIMIT + 60


@shared_task(
    name="digests.send_subscription_mail",
    ignore_result=True,
    **retry_on_network(TransientMailError),
)
def send_subscription_mail(subscription_id: int, kind: str) -> None:
    """Send a confirmation, reminder or already-subscribed mail; retried on network errors."""
    subscription = Subscription.objects.filter(pk=subscription_id).first()
    if subscription is None:
        return
    subscriptions.subscription_send_mail(subscription=subscription, kind=kind)


@shared_task(
    name="digests.send_due",
    ignore_result=True,
    soft_time_limit=SEND_SOFT_LIMIT,
    time_limit=SEND_HARD_LIMIT,
    **retry_on_network(),
)
def send_due(frequency: str, period: str | None = None) -> str:
    """Send the daily or weekly digest due today (or of `period`) to everyone not yet served."""
    with single_run(f"digests.send_due.{frequency}", timeout=SEND_HARD_LIMIT) as acquired:
        if not acquired:
            logger.info("send_due %s: another run holds the lock; skipped", frequency)
            return SKIPPED
        report = sending.digests_send_due(
            frequency=frequency, period=digest_period(frequency, period) if period else None
        )
        return report.summary() if report else "no digest is due today"


@shared_task(
    name="digests.send_retries",
    ignore_result=True,
    soft_time_limit=SEND_SOFT_LIMIT,
    time_limit=SEND_HARD_LIMIT,
    **retry_on_network(),
)
def send_retries() -> str:
    """Send due retries and the rest of interrupted runs; flag interrupted sends."""
    with single_run("digests.send_retries", timeout=SEND_HARD_LIMIT) as acquired:
        if not acquired:
            return SKIPPED
        reports = sending.deliveries_send_retries()
        return "; ".join(r.summary() for r in reports) or "nothing to retry"


@shared_task(name="digests.remind_unconfirmed", ignore_result=True, **retry_on_network())
def remind_unconfirmed() -> int | str:
    """Send the one reminder to subscribers who have not confirmed yet."""
    with single_run("digests.remind_unconfirmed") as acquired:
        if not acquired:
            return SKIPPED
        return subscriptions.subscriptions_remind_unconfirmed()


@shared_task(name="digests.purge_unconfirmed", ignore_result=True, **retry_on_network())
def purge_unconfirmed() -> int | str:
    """Delete the subscriptions nobody confirmed in time."""
    with single_run("digests.purge_unconfirmed") as acquired:
        if not acquired:
            return SKIPPED
        return subscriptions.subscriptions_purge_unconfirmed()

"""Subscriptions: double opt-in by a signed link, options, unsubscribing, one reminder, and
purging what nobody confirmed. Every mail goes out from a task, after the commit.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from config import ratelimit
from digests import mail
from digests.models import Delivery, Subscription, new_nonce
from digests.selectors import confirmation_token

logger = logging.getLogger(__name__)

CONFIRM = "confirm"
REMINDER = "reminder"
ALREADY_SUBSCRIBED = "already-subscribed"
MAIL_KINDS = (CONFIRM, REMINDER, ALREADY_SUBSCRIBED)
REMIND_BATCH = 1000


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
    categories: list[str] | None = None,
    user: User | None = None,
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
    # A calendar day's window (UTC), keyed on a hash of the address, not the address.
    address = hashlib.sha256(email.encode()).hexdigest()[:32]
    key = f"digests:subscribe:address:{address}:{now.date().isoformat()}"
    allowed, _wait = ratelimit.take(key, limit, 86400)
    if not allowed:
        logger.info("subscription request over the per-address limit; no mail")
        return None
    categories = categories or []
    with transaction.atomic():
        subscription, created = _locked_subscription(
            email,
            {
                "frequency": frequency,
                "keywords": keywords,
                "categories": categories,
                "confirmation_sent_at": now,
            },
        )
        kind: str | None = None
        if created:
            kind = CONFIRM
        elif subscription.is_active:
            kind = ALREADY_SUBSCRIBED
        else:
            subscription.frequency, subscription.keywords = frequency, keywords
            subscription.categories = categories
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
            user is not None
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
    *,
    subscription: Subscription,
    frequency: str,
    keywords: list[str],
    for_you: bool = False,
    categories: list[str] | None = None,
) -> Subscription:
    """Change how often and about what the subscriber hears ("For you": only for an
    address linked to a member, whose taste ranks the papers)."""
    subscription.frequency = frequency
    subscription.keywords = keywords
    subscription.categories = categories or []
    subscription.for_you = for_you and subscription.user_id is not None
    subscription.save(
        update_fields=["frequency", "keywords", "categories", "for_you", "updated_at"]
    )
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
    for pk in list(due.values_list("pk", flat=True)[:REMIND_BATCH]):
        with transaction.atomic():
            claimed = Subscription.objects.filter(
                pk=pk, reminder_sent_at=None, confirmed_at=None
            ).update(reminder_sent_at=now)
            if claimed:
                _enqueue_mail(pk, REMINDER)
                reminded += 1
    return reminded


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

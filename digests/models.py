from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone


def new_token() -> str:
    """The secret in a subscriber's manage and unsubscribe links."""
    return secrets.token_urlsafe(32)


def new_nonce() -> str:
    """Changes whenever a new confirmation starts, so older confirmation links stop working."""
    return secrets.token_hex(8)


class Frequency(models.TextChoices):
    DAILY = "daily", "Daily (weekdays)"
    WEEKLY = "weekly", "Weekly (Mondays)"


class SubscriptionQuerySet(models.QuerySet["Subscription"]):
    def active(self) -> SubscriptionQuerySet:
        """Confirmed and not unsubscribed: the ones that get digests."""
        return self.filter(confirmed_at__isnull=False, unsubscribed_at__isnull=True)

    def pending(self) -> SubscriptionQuerySet:
        """Waiting for the confirmation link to be clicked."""
        return self.filter(confirmed_at__isnull=True, unsubscribed_at__isnull=True)


class Subscription(models.Model):
    """One email address that asked for digests (double opt-in), with or without an account."""

    email = models.EmailField(max_length=254, unique=True, help_text="Stored in lower case")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="digest_subscriptions",
    )
    frequency = models.CharField(max_length=8, choices=Frequency.choices, default=Frequency.DAILY)
    keywords = models.JSONField(
        default=list, blank=True, help_text="Topic keywords; none: the period's top papers"
    )
    categories = models.JSONField(
        default=list,
        blank=True,
        db_default=[],
        help_text="arXiv categories (cs.LG, ...); none: every category",
    )
    for_you = models.BooleanField(
        "for you",
        default=False,
        db_default=False,
        help_text="Rank the period's papers by what the member upvotes, saves and follows",
    )
    # The manage link's key (it can change everything), and the one-click unsubscribe
    # link's, which can only unsubscribe: mail providers and link scanners fetch that one.
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    unsubscribe_token = models.CharField(
        max_length=64, unique=True, default=new_token, editable=False
    )
    confirm_nonce = models.CharField(max_length=32, default=new_nonce, editable=False)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(email=Lower("email")), name="subscription_email_lower"
            ),
            models.CheckConstraint(
                condition=Q(frequency__in=["daily", "weekly"]), name="subscription_frequency_valid"
            ),
        ]
        indexes = [
            models.Index(
                fields=["frequency", "id"],
                condition=Q(confirmed_at__isnull=False, unsubscribed_at__isnull=True),
                name="subscription_active",
            ),
            models.Index(
                fields=["confirmation_sent_at"],
                condition=Q(confirmed_at__isnull=True, unsubscribed_at__isnull=True),
                name="subscription_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.frequency}, {self.status})"

    def get_absolute_url(self) -> str:
        """The manage page (the token in it is the subscriber's key)."""
        return reverse("digests:manage", args=[self.token])

    @property
    def status(self) -> str:
        if self.unsubscribed_at is not None:
            return "unsubscribed"
        return "active" if self.confirmed_at is not None else "pending"

    @property
    def is_active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None

    @property
    def is_pending(self) -> bool:
        return self.confirmed_at is None and self.unsubscribed_at is None

    @property
    def manage_url(self) -> str:
        return settings.SITE_URL + self.get_absolute_url()

    @property
    def unsubscribe_url(self) -> str:
        return settings.SITE_URL + reverse("digests:unsubscribe", args=[self.unsubscribe_token])


class Delivery(models.Model):
    """One subscriber's digest for one period: claimed before it is sent, so it goes out once.

    `pending` → `sending` (claimed by a compare-and-set UPDATE, just before the SMTP
    transaction) → `sent`; or `skipped` (nothing matched, or unsubscribed meanwhile), or back
    to `pending` with a later `next_attempt_at` after a temporary failure, or `failed` (a
    permanent refusal, the last attempt, or interrupted while `sending`: see
    digests.services.sending).
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"
        SKIPPED = "skipped"
        FAILED = "failed"

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    frequency = models.CharField(max_length=8, choices=Frequency.choices)
    period = models.CharField(max_length=10, help_text="2026-06-12 (daily) or 2026-W24 (weekly)")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    paper_count = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "period"], name="delivery_once_per_period"
            ),
        ]
        indexes = [
            models.Index(fields=["frequency", "period", "status", "id"], name="delivery_period"),
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="delivery_pending_due",
            ),
            models.Index(
                fields=["claimed_at"], condition=Q(status="sending"), name="delivery_sending"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.frequency} {self.period} → {self.subscription_id}: {self.status}"

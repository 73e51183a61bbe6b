"""A team's chat channel (an incoming webhook) and the post it gets for each period."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from digests.models import Frequency


class Kind(models.TextChoices):
    SLACK = "slack", "Slack (Block Kit)"
    DISCORD = "discord", "Discord (embeds)"
    MATTERMOST = "mattermost", "Mattermost (attachments)"
    TEAMS = "teams", "Microsoft Teams (Adaptive Card)"
    WEBHOOK = "webhook", "Any webhook (JSON)"


class Channel(models.Model):
    """Where the top papers go: an incoming webhook URL, how often, on which topics."""

    name = models.CharField(max_length=100, help_text="For the admin: #papers on the lab's Slack")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    url = models.URLField(
        "webhook URL", max_length=500, help_text="The incoming webhook the chat tool gave you"
    )
    frequency = models.CharField(max_length=8, choices=Frequency.choices, default=Frequency.DAILY)
    keywords = models.JSONField(
        default=list, blank=True, help_text='Topics, e.g. ["diffusion", "robotics"]; none: all'
    )
    paper_count = models.PositiveSmallIntegerField(
        "papers", default=5, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    send_hour = models.PositiveSmallIntegerField(
        default=8, validators=[MaxValueValidator(23)], help_text="Hour of the day, UTC"
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()}, {self.frequency})"


class Post(models.Model):
    """One channel's post for one period: claimed before it is sent, so it goes out once.

    `pending` → `sending` (claimed by a compare-and-set UPDATE) → `sent`; or back to
    `pending` with a later `next_attempt_at` after a 429 or a 5xx (honouring Retry-After),
    or `failed` (refused, or out of attempts); `skipped` when no paper matched. A post left
    `sending` by a worker that stopped goes back to `pending` if it never reached the
    service (`posting_at` unset), and to `failed` if it did: it may have been posted, so it
    is not posted again unless staff ask.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"
        SKIPPED = "skipped"
        FAILED = "failed"

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="posts")
    period = models.CharField(max_length=10, help_text="2026-06-12 (daily) or 2026-W24 (weekly)")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    posting_at = models.DateTimeField(
        null=True, blank=True, help_text="When the last attempt's request to the service began"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    paper_count = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "period"], name="post_once_per_period"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="post_due")]

    def __str__(self) -> str:
        return f"{self.channel_id}: {self.period} ({self.status})"

"""A discussion under each paper: comments with one level of replies, their earlier
versions, reactions, reports, and the notifications they cause."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from papers.models import Paper

# Reactions offered on each comment, in the order they are shown.
REACTIONS = ("👍", "❤️", "🔥", "🚀", "👀", "🤯")


class HiddenReason(models.TextChoices):
    """Why staff hid a comment (the reasons huggingface.co gives)."""

    SPAM = "spam", "Spam"
    ABUSE = "abuse", "Abuse"
    GRAPHIC = "graphic", "Graphic content"
    RESOLVED = "resolved", "Resolved"
    OFF_TOPIC = "off-topic", "Off-topic"


class CommentQuerySet(models.QuerySet["Comment"]):
    def shown(self) -> CommentQuerySet:
        """Comments that count: neither deleted by their author nor hidden by staff."""
        return self.filter(deleted_at=None, hidden_reason="")


class Comment(models.Model):
    """A comment on a paper, or a reply to one (replies have no replies of their own).

    `body` is the Markdown as written; `html` is what it renders to, sanitised. A deleted
    comment keeps its row (its replies stay readable under a placeholder) and loses its
    text; a hidden one keeps its text for staff and shows its reason to everyone else.
    """

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    body = models.TextField()
    html = models.TextField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    edited_at = models.DateTimeField(null=True, blank=True, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    hidden_reason = models.CharField(
        max_length=16, choices=HiddenReason.choices, blank=True, help_text="Hidden by staff"
    )
    hidden_at = models.DateTimeField(null=True, blank=True, editable=False)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    objects = CommentQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["paper", "created_at"], name="comment_paper_time"),
            models.Index(fields=["author", "-created_at"], name="comment_author_recent"),
            models.Index(fields=["-created_at"], name="comment_recent"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=models.F("id")), name="comment_not_own_parent"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} on {self.paper_id} by {self.author_id}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_hidden(self) -> bool:
        return bool(self.hidden_reason)

    @property
    def is_shown(self) -> bool:
        return not self.is_deleted and not self.is_hidden


class CommentRevision(models.Model):
    """A comment's text before an edit: the history staff can read."""

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="revisions")
    body = models.TextField()
    written_at = models.DateTimeField(help_text="When this text was written")

    class Meta:
        ordering = ["comment", "written_at", "id"]

    def __str__(self) -> str:
        return f"{self.comment_id} as of {self.written_at:%Y-%m-%d %H:%M}"


class Reaction(models.Model):
    """One member's reaction to a comment: one of each emoji per member."""

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reactions"
    )
    emoji = models.CharField(max_length=8, choices=[(e, e) for e in REACTIONS])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["comment", "user", "emoji"], name="reaction_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.emoji} {self.comment_id}"


class ReportReason(models.TextChoices):
    SPAM = "spam", "Spam"
    ABUSE = "abuse", "Abuse or harassment"
    GRAPHIC = "graphic", "Graphic content"
    OFF_TOPIC = "off-topic", "Off-topic"
    OTHER = "other", "Something else"


class Report(models.Model):
    """A member's report of a comment: the queue staff work through in the admin."""

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports"
    )
    reason = models.CharField(max_length=16, choices=ReportReason.choices)
    note = models.TextField(blank=True, max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["comment", "reporter"], name="report_once"),
        ]
        indexes = [models.Index(fields=["resolved_at", "-created_at"], name="report_queue")]

    def __str__(self) -> str:
        return f"{self.get_reason_display()}: comment {self.comment_id}"


class Notification(models.Model):
    """A member was mentioned, or replied to: mailed in a batch at most hourly."""

    class Kind(models.TextChoices):
        MENTION = "mention"
        REPLY = "reply"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    mailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["recipient", "comment"], name="notification_once"),
        ]
        indexes = [
            models.Index(fields=["mailed_at", "recipient"], name="notification_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id}: comment {self.comment_id}"

"""Moderation: comments (hide with a reason, show again, their edit history) and the
queue of reports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.contrib import admin, messages
from django.db.models import Count, F, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from discussions.models import Comment, CommentRevision, HiddenReason, Report
from discussions.services import comments_hide, comments_unhide


class RevisionInline(admin.TabularInline[CommentRevision, Comment]):
    model = CommentRevision
    fields = ("written_at", "body")
    readonly_fields = ("written_at", "body")
    extra = 0
    can_delete = False
    verbose_name = "earlier text"
    verbose_name_plural = "history (earlier texts, newest last)"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _hide_action(reason: HiddenReason) -> Callable[..., None]:
    @admin.action(description=f"Hide the selected comments: {reason.label}", permissions=["change"])
    def hide(
        modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[Comment]
    ) -> None:
        count = comments_hide(
            staff=cast(User, request.user),
            comments=queryset.select_related("paper"),
            reason=reason.value,
        )
        modeladmin.message_user(
            request, f"Hid {count} comments ({reason.label}).", messages.SUCCESS
        )

    hide.__name__ = f"hide_{reason.value.replace('-', '_')}"
    return hide


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin[Comment]):
    list_display = ("id", "paper", "author", "created_at", "edited_at", "hidden_reason", "reports")
    list_filter = ("hidden_reason", ("deleted_at", admin.EmptyFieldListFilter))
    search_fields = ("body", "author__username", "paper__arxiv_id")
    list_select_related = ("paper", "author")
    raw_id_fields = ("paper", "author", "parent")
    readonly_fields = (
        "paper",
        "author",
        "parent",
        "body",
        "created_at",
        "edited_at",
        "deleted_at",
        "hidden_reason",
        "hidden_at",
        "hidden_by",
    )
    exclude = ("html",)
    inlines = [RevisionInline]
    actions = [*(_hide_action(reason) for reason in HiddenReason), "unhide"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Comment]:
        return super().get_queryset(request).annotate(report_count=Count("reports"))

    @admin.display(description="reports", ordering="report_count")
    def reports(self, comment: Comment) -> int:
        return int(getattr(comment, "report_count", 0))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # members write comments; staff moderate them

    @admin.action(description="Show the selected comments again", permissions=["change"])
    def unhide(self, request: HttpRequest, queryset: QuerySet[Comment]) -> None:
        count = comments_unhide(comments=queryset.select_related("paper"))
        self.message_user(request, f"Showed {count} comments again.", messages.SUCCESS)


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin[Report]):
    """The queue: open reports first. Hiding a comment (from its page) resolves its reports."""

    list_display = ("created_at", "reason", "comment", "comment_text", "reporter", "resolved_at")
    list_filter = (("resolved_at", admin.EmptyFieldListFilter), "reason")
    list_select_related = ("comment", "reporter")
    raw_id_fields = ("comment", "reporter", "resolved_by")
    readonly_fields = ("comment", "reporter", "reason", "note", "created_at")
    actions = ["resolve"]

    ordering = (F("resolved_at").desc(nulls_first=True), "-created_at")  # open ones first

    @admin.display(description="text")
    def comment_text(self, report: Report) -> str:
        return report.comment.body[:120]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Mark the selected reports resolved", permissions=["change"])
    def resolve(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        count = queryset.filter(resolved_at=None).update(
            resolved_at=timezone.now(), resolved_by=request.user
        )
        self.message_user(request, f"Resolved {count} reports.", messages.SUCCESS)

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from broadcasts import services
from broadcasts.models import Channel, Post


class PostInline(admin.TabularInline[Post, Channel]):
    model = Post
    extra = 0
    max_num = 0
    can_delete = False
    fields = ("period", "status", "attempts", "next_attempt_at", "sent_at", "paper_count", "error")
    readonly_fields = fields
    ordering = ["-created_at"]


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin[Channel]):
    list_display = ["name", "kind", "frequency", "send_hour", "paper_count", "active", "last_post"]
    list_filter = ["kind", "frequency", "active"]
    search_fields = ["name"]
    inlines = [PostInline]

    @admin.display(description="last post")
    def last_post(self, channel: Channel) -> str:
        post = channel.posts.order_by("-created_at").first()
        return "—" if post is None else f"{post.period}: {post.status}"


@admin.register(Post)
class PostAdmin(admin.ModelAdmin[Post]):
    list_display = ["channel", "period", "status", "attempts", "sent_at", "next_attempt_at"]
    list_filter = ["status", "channel__kind"]
    search_fields = ["channel__name", "period", "error"]
    readonly_fields = [
        "channel",
        "period",
        "status",
        "attempts",
        "next_attempt_at",
        "claimed_at",
        "sent_at",
        "paper_count",
        "error",
        "created_at",
    ]
    actions = ["post_again"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Post again (failed posts)", permissions=["change"])
    def post_again(self, request: HttpRequest, queryset: QuerySet[Post]) -> None:
        count = services.post_again(list(queryset))
        self.message_user(request, f"{count} posts will be sent again.", messages.SUCCESS)

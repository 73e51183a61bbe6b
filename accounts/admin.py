from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import ApiToken, User


@admin.register(User)
class MemberAdmin(UserAdmin):  # type: ignore[type-arg]
    """Django's user admin, with muting: a muted member may read and vote, not comment."""

    list_display = ("username", "display_name", "email", "is_staff", "date_joined", "muted_at")
    list_filter = ("is_staff", "is_active", ("muted_at", admin.EmptyFieldListFilter))
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        ("Community", {"fields": ("display_name", "notify_by_email", "muted_at")}),
    )
    actions = ["mute", "unmute"]

    @admin.action(
        description="Mute the selected members (no more comments)", permissions=["change"]
    )
    def mute(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        count = queryset.filter(muted_at=None).update(muted_at=timezone.now())
        self.message_user(request, f"Muted {count} members.", messages.SUCCESS)

    @admin.action(description="Lift the mute of the selected members", permissions=["change"])
    def unmute(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        count = queryset.exclude(muted_at=None).update(muted_at=None)
        self.message_user(request, f"Lifted the mute of {count} members.", messages.SUCCESS)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    """Tokens are created by members; staff can see them and revoke them."""

    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("name", "prefix", "user__username", "user__email")
    raw_id_fields = ("user",)
    list_select_related = ("user",)
    readonly_fields = ("user", "name", "prefix", "created_at", "last_used_at")
    fields = ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the plaintext must reach the member: tokens are made on the profile

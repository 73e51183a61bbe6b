from __future__ import annotations

from typing import cast

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from digests.models import Delivery, Subscription, SubscriptionQuerySet
from digests.services import sending


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Subscription]
    ) -> list[tuple[str, str]]:
        return [("active", "active"), ("pending", "pending"), ("unsubscribed", "unsubscribed")]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[Subscription]
    ) -> QuerySet[Subscription]:
        if self.value() == "active":
            return cast(SubscriptionQuerySet, queryset).active()
        if self.value() == "pending":
            return cast(SubscriptionQuerySet, queryset).pending()
        if self.value() == "unsubscribed":
            return queryset.filter(unsubscribed_at__isnull=False)
        return queryset


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin[Subscription]):
    list_display = ["email", "frequency", "status", "user", "confirmed_at", "unsubscribed_at"]
    list_filter = [StatusFilter, "frequency"]
    search_fields = ["email", "user__username"]
    raw_id_fields = ["user"]
    readonly_fields = [
        "token",
        "confirmation_sent_at",
        "reminder_sent_at",
        "confirmed_at",
        "unsubscribed_at",
        "created_at",
        "updated_at",
    ]
    date_hierarchy = "created_at"


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin[Delivery]):
    list_display = [
        "subscription",
        "frequency",
        "period",
        "status",
        "attempts",
        "sent_at",
        "short_error",
    ]
    list_filter = ["status", "frequency", "period"]
    search_fields = ["subscription__email", "message_id", "period"]
    list_select_related = ["subscription"]
    raw_id_fields = ["subscription"]
    readonly_fields = [
        "subscription",
        "frequency",
        "period",
        "status",
        "attempts",
        "next_attempt_at",
        "claimed_at",
        "sent_at",
        "message_id",
        "paper_count",
        "error",
        "created_at",
        "updated_at",
    ]
    actions = ["send_again"]

    @admin.display(description="error")
    def short_error(self, delivery: Delivery) -> str:
        return delivery.error[:80]

    @admin.action(
        description="Send again (failed ones only; an interrupted one may arrive twice)",
        permissions=["change"],
    )
    def send_again(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        count = sending.deliveries_resend(deliveries=queryset)
        self.message_user(
            request,
            f"{count} deliveries queued again; they go out with the next retry run.",
            messages.SUCCESS,
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

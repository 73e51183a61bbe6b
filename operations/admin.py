from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from operations.models import AlertSent


@admin.register(AlertSent)
class AlertSentAdmin(admin.ModelAdmin[AlertSent]):
    list_display = ["day", "problem", "subject", "sent_at"]
    search_fields = ["problem", "subject"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AlertSent | None = None) -> bool:
        return False

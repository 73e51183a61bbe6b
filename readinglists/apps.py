from __future__ import annotations

from django.apps import AppConfig


class ReadingListsConfig(AppConfig):
    """Collections of papers (named `readinglists`: `collections` is a standard module)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "readinglists"
    verbose_name = "collections"

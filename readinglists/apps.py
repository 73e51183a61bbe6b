from __future__ import annotations

from django.apps import AppConfig


class ReadingListsConfig(AppConfig):
    """Collections of papers (named `readinglists`: `collections` is a standard module)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "readinglists"
    verbose_name = "collections"

    def ready(self) -> None:
        from papers.foryou import register_saved
        from readinglists.selectors import saved_papers
        from readinglists.services import owner_scope

        register_saved(saved_papers, owner_scope)

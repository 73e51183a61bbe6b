from __future__ import annotations

from django.apps import AppConfig


class DiscussionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "discussions"

    def ready(self) -> None:
        # The discussion section plugs into paper pages; the task registers with Celery.
        from discussions import sections, tasks  # noqa: F401

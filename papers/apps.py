from __future__ import annotations

from django.apps import AppConfig


class PapersConfig(AppConfig):
    name = "papers"
    verbose_name = "Papers"

    def ready(self) -> None:
        from papers import signals  # noqa: F401 (connects the receivers)

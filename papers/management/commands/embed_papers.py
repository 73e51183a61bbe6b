"""`manage.py embed_papers`: give every paper its vector (papers/embeddings.py)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from papers.embeddings import MODEL_NAME, embed_stale


class Command(BaseCommand):
    help = (
        "Embed every paper that has no vector by the current model, or whose title or "
        "abstract changed since. Resumable: a stopped run leaves what it wrote done."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        shown = 0.0

        def progress(done: int, total: int) -> None:
            nonlocal shown
            now = time.monotonic()
            if now - shown >= 1 or done >= total:
                shown = now
                rate = done / max(now - started, 1e-9)
                self.stdout.write(f"papers: {done:,} of at most {total:,} ({rate:,.0f}/s)")

        written = embed_stale(progress=progress)
        elapsed = time.monotonic() - started
        self.stdout.write(f"{written:,} papers embedded with {MODEL_NAME} in {elapsed:.1f} s")

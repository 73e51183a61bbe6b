"""`manage.py build_vector_index`: the approximate index for VECTOR_INDEX=hnsw (papers/ann.py)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from papers import ann, vectors
from papers.progress import progress_lines


class Command(BaseCommand):
    help = (
        "Build the HNSW graph of every paper's vector into VAR_DIR, for VECTOR_INDEX=hnsw. "
        "The web processes take the new graph up by themselves; the nightly task rebuilds it."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.VECTOR_INDEX != "hnsw":
            raise CommandError(
                "VECTOR_INDEX is 'exact': the graph would not be used. Set VECTOR_INDEX=hnsw "
                "in the environment of every web process and worker first."
            )
        started = time.monotonic()
        progress = progress_lines(self.stdout.write, "vectors", every=5)
        size = vectors.build_graph(progress=progress)
        elapsed = time.monotonic() - started
        self.stdout.write(f"{size:,} papers in {ann.path()}, built in {elapsed:.1f} s")

"""Progress lines for long commands: how far, out of how many, and how fast."""

from __future__ import annotations

import time
from collections.abc import Callable


def progress_lines(
    write: Callable[[str], object], what: str, *, every: float = 1.0, of: str = "of"
) -> Callable[[int, int], None]:
    """A progress callback writing `what: done of total (rate/s)` at most every `every`
    seconds, and at the end."""
    started = time.monotonic()
    shown = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - shown[0] >= every or done >= total:
            shown[0] = now
            rate = done / max(now - started, 1e-9)
            write(f"{what}: {done:,} {of} {total:,} ({rate:,.0f}/s)")

    return progress

"""Query parameters every app reads the same way."""

from __future__ import annotations

MAX_PAGE = 10_000  # keeps the OFFSET within what every database accepts


def page_number(raw: str | None) -> int:
    """The ?page= number; anything but a positive integer is the first page."""
    try:
        return min(max(int(raw or 1), 1), MAX_PAGE)
    except ValueError:
        return 1

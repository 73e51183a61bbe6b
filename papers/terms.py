"""What a query's words and a subscriber's topics match: one rule for every place that
looks for them (highlights on pages and in the API, digest topics).

A term matches a whole word, or that word with a plural ending, in any case: `model` marks
`Model` and `models`, `LLM` marks `LLMs`, and `Kazakh` does not mark `Kazakhstan`. It is
the rule of Hugging Face's own search highlights (tests/api/test_hf_shapes.py compares
ours with a recorded answer), so the API and the pages mark the same words it does.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

_OPERATORS = frozenset({"or", "and", "not"})


def search_terms(query: str) -> list[str]:
    """The words of a query worth looking for (no operators, no one-letter words)."""
    words = re.findall(r"[\w\-]+", query.lower())
    return [w for w in words if len(w) > 1 and w not in _OPERATORS]


def terms_pattern(terms: Iterable[str]) -> re.Pattern[str] | None:
    """The pattern of these terms (words or phrases); None when there are none."""
    return _compiled(frozenset(" ".join(t.lower().split()) for t in terms if t.strip()))


@functools.lru_cache(maxsize=256)
def _compiled(terms: frozenset[str]) -> re.Pattern[str] | None:
    if not terms:
        return None
    # Longest first, so that a phrase wins over a word it starts with.
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=lambda t: (-len(t), t)))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?:e?s)?(?!\w)", re.IGNORECASE)


def segments(text: str, pattern: re.Pattern[str] | None) -> list[tuple[str, bool]]:
    """`text` cut into (piece, matched) segments, in order; [] for no text."""
    if not text:
        return []
    if pattern is None:
        return [(text, False)]
    found: list[tuple[str, bool]] = []
    position = 0
    for match in pattern.finditer(text):
        if match.start() > position:
            found.append((text[position : match.start()], False))
        found.append((match.group(), True))
        position = match.end()
    if position < len(text):
        found.append((text[position:], False))
    return found

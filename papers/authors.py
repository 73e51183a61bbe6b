"""Author pages: every paper by an author name, the names normalised so that "Zoë
Ångström", "zoe angstrom", "Z. Ångström" and "Ångström, Zoë" are one author.

The key is the surname and the first initial, accents and case folded. Two people with the
same surname and initial share a page, as in most bibliographies; claiming (a member says
"this is me" on a paper) is what tells them apart.
"""

from __future__ import annotations

import re
import unicodedata

from django.db import connection
from django.db.models import TextField
from django.db.models.functions import Cast

from papers.citations import ascii_letters
from papers.models import Paper
from papers.selectors import listing

AUTHOR_PAGE_SIZE = 100
CANDIDATES = 5_000  # papers read to find an author's (newest first)
_TOKEN = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """Lower case without accents (Ł and ø too)."""
    decomposed = unicodedata.normalize("NFKD", ascii_letters(text))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def author_key(name: str) -> str:
    """`surname-initial` (or the surname alone): what makes two spellings one author."""
    if "," in name:  # "Surname, Given"
        surname, _, given = name.partition(",")
        name = f"{given} {surname}"
    tokens = _TOKEN.findall(fold(name))
    if not tokens:
        return ""
    return f"{tokens[-1]}-{tokens[0][0]}" if len(tokens) > 1 else tokens[-1]


def _variants() -> dict[str, str]:
    """For each ASCII letter, the Latin letters that fold to it (a: aàáâãäåā...)."""
    found: dict[str, set[str]] = {}
    for code in range(0x20, 0x250):
        char = chr(code)
        folded = fold(char)
        if len(folded) == 1 and folded.isascii() and folded.isalnum():
            found.setdefault(folded, {folded}).update({char.lower()})
    return {letter: "".join(sorted(chars)) for letter, chars in found.items()}


_VARIANTS = _variants()


def _accent_blind(word: str) -> str:
    """A case-insensitive pattern matching the folded word however it is accented."""
    return "".join(f"[{_VARIANTS.get(c, c)}]" for c in word)


def papers_by_author(name: str) -> list[Paper]:
    """The visible papers with an author whose key is this name's, newest first."""
    key = author_key(name)
    if not key:
        return []
    papers = listing(Paper.objects.all())
    if connection.vendor == "postgresql":
        # Narrow to papers whose author list holds the surname, however accented (a
        # scan of the JSON as text), then compare keys.
        surname = key.split("-")[0]
        papers = papers.annotate(author_text=Cast("authors", TextField())).filter(
            author_text__iregex=_accent_blind(surname)
        )
    found = []
    for paper in papers.order_by("-published_at", "-id")[:CANDIDATES].iterator(chunk_size=500):
        if any(author_key(a.get("name", "")) == key for a in paper.authors):
            found.append(paper)
            if len(found) == AUTHOR_PAGE_SIZE:
                break
    return found

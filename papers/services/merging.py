"""Which values win when a paper arrives again.

A newer arXiv version replaces the paper's own metadata; the same version only fills gaps
(Hugging Face may correct its own, versionless records); an older one changes nothing.
What only Hugging Face knows (votes, comments, repositories, summaries) is replaced
whenever a record states it, and Hugging Face's daily list decides the featured day.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from papers.sources.records import PaperRecord

# Fields that describe the paper itself: replaced only by a newer arXiv version.
METADATA_FIELDS = (
    "version",
    "title",
    "abstract",
    "authors",
    "published_at",
    "source_updated_at",
    "primary_category",
    "categories",
)
# Fields only Hugging Face knows: replaced whenever a record carries them.
COMMUNITY_FIELDS = (
    "source_upvotes",
    "source_comments",
    "github_repo",
    "github_stars",
    "project_page",
    "ai_summary",
    "ai_keywords",
    "thumbnail_url",
    "organization",
    "source_submitter",
)
WRITTEN_FIELDS = (*METADATA_FIELDS, *COMMUNITY_FIELDS, "listed_on")
_EMPTY: dict[str, Any] = {
    "abstract": "",
    "authors": [],
    "primary_category": "",
    "categories": [],
    "source_upvotes": 0,
    "source_comments": 0,
    "github_repo": "",
    "project_page": "",
    "ai_summary": "",
    "ai_keywords": [],
    "thumbnail_url": "",
}


def _record_values(record: PaperRecord) -> dict[str, Any]:
    """The model values a record states; fields it does not state are left out."""
    values: dict[str, Any] = {
        "version": record.version,
        "title": record.title,
        "abstract": record.abstract or None,
        "authors": [a.as_json() for a in record.authors] or None,
        "published_at": record.published_at,
        "source_updated_at": record.source_updated_at,
        "primary_category": record.primary_category or None,
        "categories": record.categories or None,
        "source_upvotes": record.source_upvotes,
        "source_comments": record.source_comments,
        "github_repo": record.github_repo,
        "github_stars": record.github_stars,
        "project_page": record.project_page,
        "ai_summary": record.ai_summary,
        "ai_keywords": record.ai_keywords,
        "thumbnail_url": record.thumbnail_url,
        "organization": record.organization,
        "source_submitter": record.source_submitter,
    }
    return {k: v for k, v in values.items() if v is not None}


def _newer(current: dict[str, Any], record: PaperRecord) -> bool | None:
    """Whether the record's paper metadata replaces the current one.

    True: a newer arXiv version (or first real version info) replaces it. None: the same
    version, which may only fill gaps. False: an older version, or a source without
    versions over one with them, changes nothing.
    """
    have, got = current.get("version"), record.version
    if got is None:
        return None if have is None else False
    if have is None or got > have:
        return True
    return None if got == have else False


def merge(current: dict[str, Any] | None, record: PaperRecord, *, today: date) -> dict[str, Any]:
    """The paper's field values after applying `record` to `current` (None: a new paper)."""
    stated = _record_values(record)
    if current is None:
        merged = {name: _EMPTY.get(name) for name in WRITTEN_FIELDS}
        merged.update(stated)
        published = record.published_at
        merged["listed_on"] = record.listed_on or (published.date() if published else today)
        return merged
    merged = dict(current)
    newer = _newer(current, record)
    for name in METADATA_FIELDS:
        if name not in stated:
            continue
        if newer or (newer is None and merged.get(name) in (None, "", [])):
            merged[name] = stated[name]
    if newer is None and record.source == "hf" and record.version is None:
        # Same (unknown) version from Hugging Face: its own corrections apply.
        for name in ("title", "abstract", "authors", "published_at"):
            if name in stated:
                merged[name] = stated[name]
    for name in COMMUNITY_FIELDS:
        if name in stated:
            merged[name] = stated[name]
    if record.source == "hf" and record.listed_on is not None:
        # Hugging Face's daily list decides the featured day; other sources only set it once.
        merged["listed_on"] = record.listed_on
    return merged

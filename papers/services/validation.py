"""What a record may hold: every field a source sends is checked here before it is merged.

A record that fails is rejected with the reason, kept on its IngestRun; the others of the
same ingestion go on.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from papers.sources.records import PaperRecord, is_valid_arxiv_id

MAX_TITLE = 1_000
MAX_ABSTRACT = 20_000
MAX_AUTHORS = 3_000
MAX_AUTHOR_NAME = 300
MAX_KEYWORDS = 100
MAX_KEYWORD = 200
MAX_SUMMARY = 5_000
MAX_URL = 500
MAX_REJECTIONS_KEPT = 200
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
_URL_SPECIAL = re.compile(r"[\[\]\t\r\n]")


class RecordRejected(ValueError):
    """A record that fails validation; the message is the reason."""


def _check_url(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    if _plain_url(value):
        return value
    try:
        parts = urlsplit(value)
    except ValueError:  # "Invalid IPv6 URL": one bad record, not a failed ingestion
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.netloc
        or len(value) > MAX_URL
    ):
        raise RecordRejected(f"{name} is not an http(s) URL of at most {MAX_URL} characters")
    return value


def _plain_url(value: str) -> bool:
    """A short ASCII http(s) URL with a host and nothing urlsplit() treats specially
    (brackets, tabs, newlines): accepted without splitting it, as urlsplit would."""
    if len(value) > MAX_URL or not value.isascii() or _URL_SPECIAL.search(value):
        return False
    if value.startswith("https://"):
        host = value[8:9]
    elif value.startswith("http://"):
        host = value[7:8]
    else:
        return False
    return bool(host) and host not in "/?#"


def _check_length(value: str, name: str, limit: int) -> None:
    if len(value) > limit:
        raise RecordRejected(f"{name} is {len(value):,} characters long (limit {limit:,})")


def _check_datetime(value: datetime | None, name: str, now: datetime) -> None:
    if value is None:
        return
    if value.tzinfo is None:
        raise RecordRejected(f"{name} has no time zone")
    if not EARLIEST <= value <= now + timedelta(days=2):
        raise RecordRejected(f"{name} {value.isoformat()} is out of range")


def validate_record(record: PaperRecord, *, now: datetime) -> PaperRecord:
    """Check a record's id, title, dates and lengths; raise RecordRejected with the reason."""
    if not is_valid_arxiv_id(record.arxiv_id):
        raise RecordRejected(f"{record.arxiv_id[:80]!r} is not an arXiv id")
    if not record.title:
        raise RecordRejected("no title")
    _check_length(record.title, "title", MAX_TITLE)
    _check_length(record.abstract, "abstract", MAX_ABSTRACT)
    if len(record.authors) > MAX_AUTHORS:
        raise RecordRejected(f"{len(record.authors):,} authors (limit {MAX_AUTHORS:,})")
    for author in record.authors:
        _check_length(author.name, "an author name", MAX_AUTHOR_NAME)
    if record.version is not None and not 1 <= record.version <= 1_000:
        raise RecordRejected(f"version {record.version} is out of range")
    _check_datetime(record.published_at, "published date", now)
    _check_datetime(record.source_updated_at, "updated date", now)
    if record.listed_on is not None and not (
        EARLIEST.date() <= record.listed_on <= (now + timedelta(days=2)).date()
    ):
        raise RecordRejected(f"listing date {record.listed_on} is out of range")
    for name in ("source_upvotes", "source_comments", "github_stars"):
        value = getattr(record, name)
        if value is not None and not 0 <= value < 2**31:
            raise RecordRejected(f"{name} {value} is out of range")
    if record.ai_summary is not None:
        _check_length(record.ai_summary, "AI summary", MAX_SUMMARY)
    if record.ai_keywords is not None:
        if len(record.ai_keywords) > MAX_KEYWORDS:
            raise RecordRejected(f"{len(record.ai_keywords)} keywords (limit {MAX_KEYWORDS})")
        for keyword in record.ai_keywords:
            _check_length(keyword, "a keyword", MAX_KEYWORD)
    for name in ("github_repo", "project_page", "thumbnail_url"):
        _check_url(getattr(record, name), name.replace("_", " "))
    return record

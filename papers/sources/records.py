"""The plain records every source produces, and the errors they raise."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

# New-style ids (0704.0001 onwards) and old-style archive ids (hep-th/9901001, solv-int/...).
NEW_ID = r"\d{4}\.\d{4,5}"
OLD_ID = r"[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7}"
NEW_ID_RE = re.compile(NEW_ID)
OLD_ID_RE = re.compile(OLD_ID)
_VERSIONED_RE = re.compile(r"^(?P<id>.+?)(?:v(?P<version>\d+))?$")
_URL_PREFIX_RE = re.compile(
    r"^(?:https?://)?(?:www\.|export\.)?(?:arxiv\.org|huggingface\.co)/(?:abs|pdf|html|papers)/",
    re.IGNORECASE,
)
_URL_TAIL_RE = re.compile(r"[?#].*$", re.DOTALL)


class SourceError(Exception):
    """A source could not be read: network failure after retries, or unusable content."""


def is_valid_arxiv_id(value: str) -> bool:
    """True for a bare arXiv id without version, in either the new or the old style."""
    # fullmatch: `$` alone would also accept a trailing newline ("2401.12345\n").
    return bool(NEW_ID_RE.fullmatch(value) or OLD_ID_RE.fullmatch(value))


def split_arxiv_id(value: str) -> tuple[str, int | None]:
    """Split `2401.12345v2`, `hep-th/9901001v2` or an abs/pdf URL into (id, version).

    Only a trailing `v<digits>` is a version: `solv-int/9901001` keeps its `v`.
    """
    text = value.strip()
    without_prefix = _URL_PREFIX_RE.sub("", text)
    if without_prefix != text:  # a URL: drop its query string and fragment
        without_prefix = _URL_TAIL_RE.sub("", without_prefix)
    text = without_prefix.removeprefix("arXiv:").removeprefix("arxiv:").strip("/")
    text = text.removesuffix(".pdf")
    match = _VERSIONED_RE.fullmatch(text)
    if match is None:  # only for an empty string
        return text, None
    version = match.group("version")
    return match.group("id"), int(version) if version else None


@dataclass(frozen=True, slots=True)
class Author:
    name: str
    affiliations: tuple[str, ...] = ()
    hf_user: str | None = None  # Hugging Face username when the author claimed the paper

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = {"name": self.name}
        if self.affiliations:
            data["affiliations"] = list(self.affiliations)
        if self.hf_user:
            data["hf_user"] = self.hf_user
        return data


@dataclass(slots=True)
class PaperRecord:
    """One paper as a source describes it. `None` means "this source does not say"."""

    source: str
    arxiv_id: str
    title: str
    abstract: str = ""
    version: int | None = None
    authors: list[Author] = field(default_factory=list)
    published_at: datetime | None = None
    source_updated_at: datetime | None = None
    listed_on: date | None = None
    primary_category: str = ""
    categories: list[str] = field(default_factory=list)
    # Community data, from Hugging Face only.
    source_upvotes: int | None = None
    source_comments: int | None = None
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    ai_summary: str | None = None
    ai_keywords: list[str] | None = None
    thumbnail_url: str | None = None
    organization: dict[str, str] | None = None
    source_submitter: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class RejectedRecord:
    """An entry a parser could not turn into a record, with the reason."""

    ref: str
    reason: str


ParsedItem = PaperRecord | RejectedRecord

"""Hugging Face daily papers: `GET {HF_API_URL}/api/daily_papers?date=YYYY-MM-DD`."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings

from papers.sources.http import fetch, new_client
from papers.sources.records import (
    Author,
    PaperRecord,
    ParsedItem,
    RejectedRecord,
    SourceError,
    split_arxiv_id,
)
from papers.sources.text import json_loads, parse_iso_datetime, squash

SOURCE = "hf"
PAGE_SIZE = 100
MAX_PAGES = 50


def _optional_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value.strip() else None


def _optional_int(data: dict[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key} is not an integer: {value!r}")
    return value


def _person(data: Any) -> dict[str, str] | None:
    if not isinstance(data, dict):
        return None
    keep = {"user": data.get("user") or data.get("name"), "fullname": data.get("fullname")}
    if data.get("avatarUrl"):
        keep["avatarUrl"] = data["avatarUrl"]
    return {k: str(v) for k, v in keep.items() if v}


def _organization(data: Any) -> dict[str, str] | None:
    if not isinstance(data, dict) or not data.get("name"):
        return None
    return {k: str(data[k]) for k in ("name", "fullname", "avatar") if data.get(k)}


def _authors(entries: Any) -> list[Author]:
    """The authors that have a name, in order; other entries are skipped.

    `hidden` means the claiming user hid the paper from their profile: the person is still
    an author of the paper (dropping them would change the author list), only the link to
    their account is not shown.

    The hottest loop of a big file (every author of every paper): squash() and the
    account lookup are written out here rather than called.
    """
    authors = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        name = entry.get("name")
        if not isinstance(name, str):
            continue
        name = " ".join(name.split())  # squash() of a string
        if not name:
            continue
        user = entry.get("user")
        username = user.get("user") if isinstance(user, dict) and not entry.get("hidden") else None
        hf_user = username if isinstance(username, str) and username.strip() else None
        authors.append(Author(name, (), hf_user))
    return authors


def parse_item(item: Any) -> PaperRecord:
    """One entry of the daily papers list (or a flat paper object) as a record."""
    if not isinstance(item, dict):
        raise ValueError(f"expected an object, got {type(item).__name__}")
    paper = item.get("paper", item)
    if not isinstance(paper, dict) or not isinstance(paper.get("id"), str):
        raise ValueError("missing paper id")
    arxiv_id, version = split_arxiv_id(paper["id"])
    authors = _authors(paper.get("authors") or [])
    published = _optional_str(paper, "publishedAt")
    listed = _optional_str(paper, "submittedOnDailyAt")
    keywords = paper.get("ai_keywords")
    if keywords is not None and not (
        isinstance(keywords, list) and all(isinstance(k, str) for k in keywords)
    ):
        raise ValueError("ai_keywords is not a list of strings")
    return PaperRecord(
        source=SOURCE,
        arxiv_id=arxiv_id,
        version=version,
        title=squash(paper.get("title") or item.get("title")),
        abstract=squash(paper.get("summary") or item.get("summary")),
        authors=authors,
        published_at=parse_iso_datetime(published) if published else None,
        listed_on=parse_iso_datetime(listed).date() if listed else None,
        source_upvotes=_optional_int(paper, "upvotes"),
        source_comments=_optional_int(item, "numComments"),
        github_repo=_optional_str(paper, "githubRepo"),
        github_stars=_optional_int(paper, "githubStars"),
        project_page=_optional_str(paper, "projectPage"),
        ai_summary=_optional_str(paper, "ai_summary"),
        ai_keywords=[" ".join(k.split()) for k in keywords] if keywords is not None else None,
        thumbnail_url=_optional_str(item, "thumbnail"),
        organization=_organization(item.get("organization") or paper.get("organization")),
        source_submitter=_person(item.get("submittedBy") or paper.get("submittedOnDailyBy")),
    )


def parse_items(items: list[Any]) -> list[ParsedItem]:
    """Every entry as a record, or as a rejection with its reason."""
    parsed: list[ParsedItem] = []
    for index, item in enumerate(items):
        try:
            parsed.append(parse_item(item))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            ref = _ref(item, index)
            parsed.append(RejectedRecord(ref=ref, reason=f"unreadable entry: {exc}"))
    return parsed


def _ref(item: Any, index: int) -> str:
    if isinstance(item, dict):
        paper = item.get("paper", item)
        if isinstance(paper, dict) and isinstance(paper.get("id"), str):
            return str(paper["id"][:40])
    return f"entry {index}"


def fetch_daily_papers(day: date, *, page_size: int = PAGE_SIZE) -> list[ParsedItem]:
    """All of one day's papers, page by page until a short page."""
    url = f"{settings.HF_API_URL}/api/daily_papers"
    parsed: list[ParsedItem] = []
    seen: set[str] = set()
    with new_client() as client:
        for page in range(MAX_PAGES):
            params: dict[str, str | int] = {"date": day.isoformat(), "p": page, "limit": page_size}
            response = fetch(url, params=params, client=client)
            try:
                items = json_loads(response.content)
            except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
                raise SourceError(f"GET {response.url}: the response is not JSON") from None
            if not isinstance(items, list):
                raise SourceError(
                    f"GET {response.url}: expected a JSON array, got a {type(items).__name__}"
                )
            batch = parse_items(items)
            ids = {item.arxiv_id for item in batch if isinstance(item, PaperRecord)}
            if ids and ids <= seen:  # the server ignores paging: stop, do not loop
                break
            for item in batch:
                # A paper that moved between pages while we read them comes back once.
                if isinstance(item, PaperRecord) and item.arxiv_id in seen:
                    continue
                if isinstance(item, PaperRecord):
                    seen.add(item.arxiv_id)
                parsed.append(item)
            if len(items) < page_size:
                break
    return parsed

"""arXiv: the query API (Atom) and the daily RSS listings.

Parsed by namespace and element name, never by position, so both the classic feed and
the 2026 format (namespaces declared once, other element order, https links,
`primary_category` without scheme) read the same.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import date, timedelta
from xml.etree.ElementTree import Element

import httpx
from django.conf import settings

from papers.sources.http import HTTPStatusError, Pacer, fetch, new_client
from papers.sources.records import (
    Author,
    PaperRecord,
    ParsedItem,
    RejectedRecord,
    SourceError,
    split_arxiv_id,
)
from papers.sources.text import parse_iso_datetime, parse_rfc822_datetime, parse_xml, squash

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
DC = "{http://purl.org/dc/elements/1.1/}"

SOURCE_API = "arxiv"
SOURCE_RSS = "arxiv-rss"
PAGE_SIZE = 200
MAX_RESULTS = 10_000
RSS_ANNOUNCE_TYPES = frozenset({"new", "cross"})
_RSS_PREFIX_RE = re.compile(r"^arXiv:\S+\s+Announce Type:\s*\S+\s*(?:Abstract:\s*)?", re.I)
_AUTHOR_SPLIT_RE = re.compile(r",\s*(?:and\s+)?|\s+and\s+")

logger = logging.getLogger(__name__)

# One pacer per process: arXiv asks for at least ARXIV_DELAY_SECONDS between calls.
arxiv_pacer = Pacer()


def author_names(text: str) -> list[str]:
    """The names in an author line: `A, B, and C` or `A and B`."""
    return [name.strip() for name in _AUTHOR_SPLIT_RE.split(text) if name.strip()]


def _text(element: Element, path: str) -> str:
    return squash(element.findtext(path))


def parse_atom_entry(entry: Element) -> PaperRecord:
    """One Atom `<entry>` as a record."""
    raw_id = _text(entry, f"{ATOM}id")
    if not raw_id:
        raise ValueError("entry without <id>")
    arxiv_id, version = split_arxiv_id(raw_id)
    authors = [
        Author(
            name=_text(author, f"{ATOM}name"),
            affiliations=tuple(
                squash(a.text) for a in author.findall(f"{ARXIV}affiliation") if squash(a.text)
            ),
        )
        for author in entry.findall(f"{ATOM}author")
    ]
    published = _text(entry, f"{ATOM}published")
    updated = _text(entry, f"{ATOM}updated")
    primary = entry.find(f"{ARXIV}primary_category")
    return PaperRecord(
        source=SOURCE_API,
        arxiv_id=arxiv_id,
        version=version,
        title=_text(entry, f"{ATOM}title"),
        abstract=_text(entry, f"{ATOM}summary"),
        authors=[a for a in authors if a.name],
        published_at=parse_iso_datetime(published) if published else None,
        source_updated_at=parse_iso_datetime(updated) if updated else None,
        primary_category=(primary.get("term") or "") if primary is not None else "",
        categories=[c.get("term", "") for c in entry.findall(f"{ATOM}category") if c.get("term")],
    )


def _api_error(root: Element) -> str | None:
    """The message of an arXiv API error feed (an entry with an `/api/errors` id), or None."""
    for entry in root.findall(f"{ATOM}entry"):
        if "/api/errors" in _text(entry, f"{ATOM}id"):
            return _text(entry, f"{ATOM}summary") or _text(entry, f"{ATOM}id")
    return None


def parse_atom(data: bytes | str) -> tuple[list[ParsedItem], int | None]:
    """An arXiv API response: its entries and the total number of results."""
    return parse_atom_root(parse_xml(data))


def parse_atom_root(root: Element) -> tuple[list[ParsedItem], int | None]:
    """`parse_atom` for a document already parsed (safely) into its root element."""
    if root.tag != f"{ATOM}feed":
        raise SourceError(f"expected an Atom <feed>, found <{_local(root.tag)}>")
    message = _api_error(root)
    if message is not None:
        raise SourceError(f"arXiv API error: {message}")
    items: list[ParsedItem] = []
    for index, entry in enumerate(root.findall(f"{ATOM}entry")):
        entry_id = _text(entry, f"{ATOM}id")
        try:
            items.append(parse_atom_entry(entry))
        except ValueError as exc:
            items.append(RejectedRecord(ref=entry_id or f"entry {index}", reason=str(exc)))
    total = root.findtext(f"{OPENSEARCH}totalResults")
    return items, int(total) if total and total.strip().isdigit() else None


def parse_rss_item(item: Element) -> PaperRecord | None:
    """One RSS `<item>` as a record; None for announcements other than new and cross."""
    announce = _text(item, f"{ARXIV}announce_type").lower()
    if announce not in RSS_ANNOUNCE_TYPES:
        return None
    guid = _text(item, "guid") or _text(item, "link")
    arxiv_id, version = split_arxiv_id(guid.removeprefix("oai:arXiv.org:"))
    pub_date = _text(item, "pubDate")
    announced = parse_rfc822_datetime(pub_date) if pub_date else None
    creators = _text(item, f"{DC}creator")
    return PaperRecord(
        source=SOURCE_RSS,
        arxiv_id=arxiv_id,
        version=version,
        title=_text(item, "title"),
        abstract=_RSS_PREFIX_RE.sub("", _text(item, "description")),
        authors=[Author(name=name) for name in author_names(creators)],
        # A new paper's first version is announced that day; a cross-list says nothing of it.
        published_at=announced if announced and version == 1 and announce == "new" else None,
        listed_on=announced.date() if announced else None,
        categories=[squash(c.text) for c in item.findall("category") if squash(c.text)],
    )


def parse_rss(data: bytes | str) -> list[ParsedItem]:
    """An arXiv RSS listing: the day's new and cross-listed papers."""
    return parse_rss_root(parse_xml(data))


def parse_rss_root(root: Element) -> list[ParsedItem]:
    """`parse_rss` for a document already parsed (safely) into its root element."""
    channel = root.find("channel")
    if root.tag != "rss" or channel is None:
        raise SourceError(f"expected an RSS <rss><channel>, found <{_local(root.tag)}>")
    items: list[ParsedItem] = []
    for index, item in enumerate(channel.findall("item")):
        try:
            record = parse_rss_item(item)
        except ValueError as exc:
            ref = _text(item, "guid") or f"item {index}"
            items.append(RejectedRecord(ref=ref, reason=str(exc)))
        else:
            if record is not None:
                items.append(record)
    return items


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def category_query(categories: Iterable[str], since: date, until: date) -> str:
    """An API search query for papers submitted in [since, until] in any of `categories`."""
    cats = " OR ".join(f"cat:{c}" for c in categories)
    window = f"submittedDate:[{since:%Y%m%d}0000 TO {until:%Y%m%d}2359]"
    return f"({cats}) AND {window}"


def fetch_query(
    *, search_query: str = "", id_list: Iterable[str] = (), page_size: int = PAGE_SIZE
) -> list[ParsedItem]:
    """Every result of an API query, paged with start/max_results, paced for arXiv."""
    url = f"{settings.ARXIV_API_URL}/api/query"
    ids = ",".join(id_list)
    parsed: list[ParsedItem] = []
    start = 0
    empty_pages = 0
    with new_client() as client:
        while start < MAX_RESULTS:
            params: dict[str, str | int] = {"start": start, "max_results": page_size}
            if search_query:
                params |= {
                    "search_query": search_query,
                    "sortBy": "submittedDate",
                    "sortOrder": "descending",
                }
            if ids:
                params["id_list"] = ids
            response = _fetch_api(url, params, client)
            items, total = parse_atom(response.content)
            if not items and total is not None and start < total:
                # arXiv now and then answers a page with no entries although more remain:
                # ask again (paced) a few times before giving up on the rest.
                empty_pages += 1
                if empty_pages < settings.SOURCE_RETRIES:
                    logger.warning("arXiv: empty page at start=%d of %d; again", start, total)
                    continue
                logger.warning("arXiv: still an empty page at start=%d of %d", start, total)
                break
            empty_pages = 0
            parsed.extend(items)
            start += len(items)
            if not items or total is None or start >= total:
                break
    return parsed


def _fetch_api(url: str, params: dict[str, str | int], client: httpx.Client) -> httpx.Response:
    """One paced API call; an error feed sent with an error status keeps its message."""
    try:
        return fetch(url, params=params, pacer=arxiv_pacer, client=client)
    except HTTPStatusError as exc:
        try:
            message = _api_error(parse_xml(exc.response.content))
        except SourceError:
            message = None
        if message is None:
            raise
        status = exc.response.status_code
        raise SourceError(f"arXiv API error: {message} (HTTP {status})") from None


def fetch_by_category(categories: list[str], since: date, until: date) -> list[ParsedItem]:
    """Papers submitted to any of `categories` between two dates (inclusive)."""
    return fetch_query(search_query=category_query(categories, since, until))


def fetch_by_ids(ids: list[str]) -> list[ParsedItem]:
    """Papers by arXiv id (with or without version)."""
    if not ids:  # no id_list and no query would ask arXiv for nothing sensible
        return []
    return fetch_query(id_list=ids, page_size=max(1, min(len(ids), PAGE_SIZE)))


def fetch_rss(categories: list[str]) -> list[ParsedItem]:
    """Today's RSS announcements for `categories` (joined with `+`)."""
    url = f"{settings.ARXIV_RSS_URL}/rss/{'+'.join(categories)}"
    response = fetch(url, pacer=arxiv_pacer)
    return parse_rss(response.content)


def days_window(days: int, today: date) -> tuple[date, date]:
    """The window of the last `days` days ending today."""
    return today - timedelta(days=max(days, 1) - 1), today

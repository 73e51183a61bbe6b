"""arXiv over OAI-PMH: every paper, page by page, in the `arXiv` or `arXivRaw` format.

A harvest asks ListRecords for a window of datestamps (the day a record last changed) and
follows resumption tokens until the list ends. arXiv answers a harvester that comes too
soon with `503 Retry-After` (the HTTP client waits as long as it says) and asks for one
request every few seconds (the pacer shared with the API).

Parsed by namespace and element name, never by position. A record that cannot be read is
rejected on its own; a page that is not an OAI-PMH response fails the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from xml.etree.ElementTree import Element

import httpx
from django.conf import settings

from papers.sources.arxiv import arxiv_pacer, author_names
from papers.sources.http import fetch
from papers.sources.records import (
    Author,
    PaperRecord,
    ParsedItem,
    RejectedRecord,
    SourceError,
    split_arxiv_id,
)
from papers.sources.text import parse_rfc822_datetime, parse_xml, squash

OAI = "{http://www.openarchives.org/OAI/2.0/}"
ARXIV = "{http://arxiv.org/OAI/arXiv/}"
ARXIV_RAW = "{http://arxiv.org/OAI/arXivRaw/}"
SOURCE = "oai"
FORMATS = ("arXivRaw", "arXiv")  # arXivRaw first: it dates every version
IDENTIFIER_PREFIX = "oai:arXiv.org:"
MAX_TOKEN = 1_000  # arXiv's tokens are a few characters ("726959|1001")


class OaiError(SourceError):
    """An OAI-PMH error answer (`<error code="...">`), other than "no records match"."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"OAI-PMH error {code}: {message}" if message else f"OAI-PMH {code}")
        self.code = code


@dataclass
class OaiPage:
    """One ListRecords answer: its records, and where the list goes on."""

    items: list[ParsedItem] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    token: str | None = None  # None: the list is complete
    complete_size: int | None = None
    cursor: int | None = None


def _text(element: Element, path: str) -> str:
    return squash(element.findtext(path))


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


def _day(text: str) -> datetime:
    """A `YYYY-MM-DD` date as midnight UTC."""
    day = date.fromisoformat(text)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _categories(text: str) -> list[str]:
    """`cs.LG stat.ML` as a list, the primary first, each once."""
    return list(dict.fromkeys(text.split()))


def _paper_id(raw: str) -> str:
    arxiv_id, _version = split_arxiv_id(raw.removeprefix(IDENTIFIER_PREFIX))
    if not arxiv_id:
        raise ValueError("record without <id>")
    return arxiv_id


def parse_arxiv(metadata: Element) -> PaperRecord:
    """A record in the `arXiv` format: structured authors, dates of the first and the
    latest version, no version numbers."""
    arxiv_id = _paper_id(_text(metadata, f"{ARXIV}id"))
    authors = []
    for author in metadata.iterfind(f"{ARXIV}authors/{ARXIV}author"):
        parts = (
            _text(author, f"{ARXIV}forenames"),
            _text(author, f"{ARXIV}keyname"),
            _text(author, f"{ARXIV}suffix"),
        )
        name = " ".join(part for part in parts if part)
        if name:
            affiliations = tuple(
                squash(a.text) for a in author.iterfind(f"{ARXIV}affiliation") if squash(a.text)
            )
            authors.append(Author(name=name, affiliations=affiliations))
    created, updated = _text(metadata, f"{ARXIV}created"), _text(metadata, f"{ARXIV}updated")
    categories = _categories(_text(metadata, f"{ARXIV}categories"))
    return PaperRecord(
        source=SOURCE,
        arxiv_id=arxiv_id,
        title=_text(metadata, f"{ARXIV}title"),
        abstract=_text(metadata, f"{ARXIV}abstract"),
        authors=authors,
        published_at=_day(created) if created else None,
        source_updated_at=_day(updated or created) if (updated or created) else None,
        primary_category=categories[0] if categories else "",
        categories=categories,
    )


def parse_arxiv_raw(metadata: Element) -> PaperRecord:
    """A record in the `arXivRaw` format: every version with its date, authors as a line."""
    arxiv_id = _paper_id(_text(metadata, f"{ARXIV_RAW}id"))
    versions: list[tuple[int, datetime]] = []
    for element in metadata.iterfind(f"{ARXIV_RAW}version"):
        number = _int((element.get("version") or "").strip().lstrip("vV"))
        stamp = _text(element, f"{ARXIV_RAW}date")
        if number is None or not stamp:
            raise ValueError(f"unreadable version {element.get('version')!r}")
        versions.append((number, parse_rfc822_datetime(stamp)))
    versions.sort()
    categories = _categories(_text(metadata, f"{ARXIV_RAW}categories"))
    return PaperRecord(
        source=SOURCE,
        arxiv_id=arxiv_id,
        version=versions[-1][0] if versions else None,
        title=_text(metadata, f"{ARXIV_RAW}title"),
        abstract=_text(metadata, f"{ARXIV_RAW}abstract"),
        authors=[Author(name=n) for n in author_names(_text(metadata, f"{ARXIV_RAW}authors"))],
        published_at=versions[0][1] if versions else None,
        source_updated_at=versions[-1][1] if versions else None,
        primary_category=categories[0] if categories else "",
        categories=categories,
    )


PARSERS = {f"{ARXIV}arXiv": parse_arxiv, f"{ARXIV_RAW}arXivRaw": parse_arxiv_raw}


def _record(record: Element, index: int) -> tuple[ParsedItem | None, str | None]:
    """(the parsed record, None), or (None, the id) of a record deleted at the source."""
    header = record.find(f"{OAI}header")
    identifier = _text(header, f"{OAI}identifier") if header is not None else ""
    ref = identifier.removeprefix(IDENTIFIER_PREFIX)[:80] or f"record {index}"
    if header is not None and header.get("status") == "deleted":
        return None, ref
    metadata = record.find(f"{OAI}metadata")
    inner = next(iter(metadata), None) if metadata is not None else None
    if inner is None:
        return RejectedRecord(ref=ref, reason="record without metadata"), None
    parser = PARSERS.get(inner.tag)
    if parser is None:
        return RejectedRecord(ref=ref, reason=f"unknown metadata format <{inner.tag}>"), None
    try:
        return parser(inner), None
    except ValueError as exc:
        return RejectedRecord(ref=ref, reason=str(exc)), None


def parse_page(data: bytes | str) -> OaiPage:
    """A ListRecords answer. "No records match" is an empty, complete page; any other
    OAI-PMH error raises OaiError."""
    root = parse_xml(data)
    if root.tag != f"{OAI}OAI-PMH":
        raise SourceError(f"expected an OAI-PMH response, found <{root.tag.rsplit('}', 1)[-1]}>")
    error = root.find(f"{OAI}error")
    if error is not None:
        code = error.get("code", "")
        if code == "noRecordsMatch":
            return OaiPage(complete_size=0)
        raise OaiError(code[:50], squash(error.text)[:500])
    listing = root.find(f"{OAI}ListRecords")
    if listing is None:
        raise SourceError("an OAI-PMH response without <ListRecords>")
    page = OaiPage()
    for index, record in enumerate(listing.iterfind(f"{OAI}record")):
        item, deleted = _record(record, index)
        if item is not None:
            page.items.append(item)
        if deleted is not None:
            page.deleted.append(deleted)
    token = listing.find(f"{OAI}resumptionToken")
    if token is not None:
        value = (token.text or "").strip()
        if len(value) > MAX_TOKEN:
            raise SourceError(f"a resumption token of {len(value):,} characters")
        page.token = value or None
        page.complete_size = _int(token.get("completeListSize"))
        page.cursor = _int(token.get("cursor"))
    return page


def list_records_params(
    *,
    token: str | None,
    metadata_prefix: str,
    since: date | None,
    until: date | None,
    set_spec: str,
) -> dict[str, str]:
    """The query of a ListRecords request: the first one, or one resuming with a token
    (which then is the only argument, as OAI-PMH requires)."""
    if token:
        return {"verb": "ListRecords", "resumptionToken": token}
    params = {"verb": "ListRecords", "metadataPrefix": metadata_prefix}
    if since:
        params["from"] = since.isoformat()
    if until:
        params["until"] = until.isoformat()
    if set_spec:
        params["set"] = set_spec
    return params


def fetch_page(params: dict[str, str], *, client: httpx.Client | None = None) -> OaiPage:
    """One paced ListRecords request (a 503 waits for its Retry-After) and its page."""
    response = fetch(settings.ARXIV_OAI_URL, params=params, pacer=arxiv_pacer, client=client)
    return parse_page(response.content)

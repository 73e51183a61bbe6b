"""Small parsing helpers shared by the sources."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from papers.sources.records import SourceError

_SPACE_RE = re.compile(r"\s+")
# An escaped NUL (\u0000) not itself escaped: PostgreSQL stores no NUL in text or jsonb.
_JSON_NUL_RE = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")


def json_loads(data: bytes) -> Any:
    """Decode JSON from a source, dropping NUL characters (which no database column can
    hold) so that one stray NUL costs neither its paper nor the whole listing."""
    if b"\\u0000" in data:
        data = _JSON_NUL_RE.sub(rb"\1", data)
    return json.loads(data)


def squash(text: str | None) -> str:
    """Collapse every run of whitespace (arXiv hard-wraps lines) into one space."""
    if not text:
        return ""
    if type(text) is str:
        # The same result as the regular expression below, several times faster:
        # str.split() and `\s` agree on what whitespace is (tests/papers/test_sources_text.py).
        return " ".join(text.split())
    return _SPACE_RE.sub(" ", text).strip()  # not a string: fails as it always did


@lru_cache(maxsize=4096)
def parse_iso_datetime(text: str) -> datetime:
    """An ISO 8601 timestamp (`2026-06-12T00:00:00.000Z`) as an aware UTC datetime.

    Cached: a listing repeats the same few timestamps thousands of times, and datetimes are
    immutable. A string that fails raises again every time (exceptions are not cached).
    """
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        raise ValueError(f"timestamp without a time zone: {text!r}")
    return value.astimezone(UTC)


def parse_rfc822_datetime(text: str) -> datetime:
    """An RSS date (`Mon, 27 Apr 2026 00:00:00 -0400`), keeping its own offset."""
    value = parsedate_to_datetime(text.strip())
    if value.tzinfo is None:
        raise ValueError(f"date without a time zone: {text!r}")
    return value


def parse_xml(data: bytes | str) -> Element:
    """Parse XML safely: a DTD, entity declarations or external references are refused."""
    try:
        root: Element = fromstring(
            data, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
        return root
    except DefusedXmlException as exc:
        raise SourceError(f"refused unsafe XML ({exc.__class__.__name__})") from None
    except ParseError as exc:
        raise SourceError(f"not well-formed XML ({exc})") from None

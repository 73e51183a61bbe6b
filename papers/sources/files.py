"""A local file in any format a source speaks, detected from its content."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from papers.sources import arxiv, hf
from papers.sources.records import ParsedItem, SourceError
from papers.sources.text import json_loads, parse_xml

MAX_FILE_BYTES = 512 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"
# How a JSON document other than an array or an object starts: a string, number, literal.
_JSON_SCALAR_START = frozenset(b'"-0123456789tfn')
_JSON_TYPE_NAMES = {str: "string", int: "number", float: "number", bool: "boolean"}


def parse_bytes(data: bytes) -> list[ParsedItem]:
    """Detect the format (HF JSON, arXiv Atom, arXiv RSS) and parse the records."""
    text = data.removeprefix(_BOM).lstrip(b" \t\r\n")
    if not text:
        raise SourceError("the file is empty")
    head = text[:200].lower()
    if text[:1] in (b"[", b"{") or text[0] in _JSON_SCALAR_START:
        return _parse_json(text)
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        raise SourceError("this is an HTML page, not a paper listing")
    if text[:1] == b"<":
        # Parse once (safely) and dispatch on what the document is, not on what it mentions.
        root = parse_xml(text)
        if root.tag == "rss":
            return arxiv.parse_rss_root(root)
        if root.tag == f"{arxiv.ATOM}feed":
            items, _total = arxiv.parse_atom_root(root)
            return items
        if root.tag.rsplit("}", 1)[-1].lower() == "html":
            raise SourceError("this is an HTML page, not a paper listing")
        raise SourceError(
            f"unknown XML document <{root.tag.rsplit('}', 1)[-1]}>: "
            "expected an Atom <feed> or an RSS <rss>"
        )
    raise SourceError("unknown format: expected a JSON array, an Atom feed or an RSS feed")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _parse_json(text: bytes) -> list[ParsedItem]:
    try:
        data = json_loads(text)
    except UnicodeDecodeError:
        raise SourceError("not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        if text[:1] not in (b"[", b"{"):
            raise SourceError(
                "unknown format: expected a JSON array, an Atom feed or an RSS feed"
            ) from None
        raise SourceError(
            f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except RecursionError:
        raise SourceError("not usable JSON (nested too deeply)") from None
    if isinstance(data, dict):
        # One paper object, as /api/papers/<id> returns it, is a list of one.
        if isinstance(data.get("id"), str) and "title" in data:
            return hf.parse_items([data])
        error = data.get("error")
        if isinstance(error, str) and error.strip():
            raise SourceError(f"a JSON error response ({error.strip()[:200]!r}), not papers")
        raise SourceError("a JSON object where an array of papers belongs")
    if not isinstance(data, list):
        raise SourceError(f"a JSON {_json_type(data)} where an array of papers belongs")
    return hf.parse_items(data)


def read_file(path: Path) -> list[ParsedItem]:
    """Read and parse a file; any problem is a SourceError naming the file."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SourceError(f"{path}: larger than {MAX_FILE_BYTES // 2**20} MiB")
        data = path.read_bytes()
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise SourceError(f"{path}: is a directory, not a file") from None
    except PermissionError:
        raise SourceError(f"{path}: permission denied") from None
    except OSError as exc:  # a path through a file, a loop of links, a name too long ...
        raise SourceError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        return parse_bytes(data)
    except SourceError as exc:
        raise SourceError(f"{path}: {exc}") from None

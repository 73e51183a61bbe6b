"""Answers built once per feed version, sent gzip-compressed to clients that accept it.

Browsers and HTTP libraries (huggingface_hub included) ask for gzip; a 130-240 KB page or
API answer then travels at a sixth of its size. Each process compresses a body once per
feed version and keeps the result, so a cached answer costs no compression either.
Personal pages are not compressed here (no secret of a member's is ever compressed
together with text an attacker chose).
"""

from __future__ import annotations

import gzip
import re

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from config.cache import LocalBytesCache

GZIP_MIN_BYTES = 1024  # below this, compressing saves less than it costs
_ACCEPTS_GZIP = re.compile(r"\bgzip\b")  # as Django's GZipMiddleware reads Accept-Encoding
_compressed = LocalBytesCache(max_bytes=8 * 2**20)


def sends_gzip(request: HttpRequest, body: bytes) -> bool:
    """Whether this answer goes out compressed."""
    return len(body) >= GZIP_MIN_BYTES and bool(
        _ACCEPTS_GZIP.search(request.headers.get("Accept-Encoding", ""))
    )


def cached_response(
    request: HttpRequest, *, key: str, version: int, body: bytes, content_type: str | None = None
) -> HttpResponse:
    """`body`, built for feed `version` and kept under `key`, as the client takes it."""
    if not sends_gzip(request, body):
        response = HttpResponse(body, content_type=content_type)
    else:
        entry = _compressed.get(key)
        if entry is None or entry[0] != version:
            entry = (version, gzip.compress(body, compresslevel=6, mtime=0))
            _compressed.set(key, *entry)
        response = HttpResponse(entry[1], content_type=content_type)
        response["Content-Encoding"] = "gzip"
    patch_vary_headers(response, ("Accept-Encoding",))
    return response

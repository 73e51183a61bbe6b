"""Cached answers on the wire: gzip compressed once when built, ETags, and their age.

Browsers and HTTP libraries (huggingface_hub included) ask for gzip; a 130-240 KB page or
API answer then travels at a sixth of its size. A shared answer is compressed once, when
it is built, and kept compressed beside its plain form. Answers that carry a member's
secrets are never compressed (BREACH needs a secret and attacker-chosen text compressed
together).
"""

from __future__ import annotations

import gzip
import hashlib
import re
import time
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags
from rest_framework.renderers import JSONRenderer

from caching import store

GZIP_MIN_BYTES = 1024  # below this, compressing saves less than it costs
_ACCEPTS_GZIP = re.compile(r"\bgzip\b")  # as Django's GZipMiddleware reads Accept-Encoding


class Body(NamedTuple):
    """An answer's bytes, and their gzip form when it is worth sending."""

    plain: bytes
    compressed: bytes | None

    @classmethod
    def of(cls, plain: bytes) -> Body:
        if len(plain) < GZIP_MIN_BYTES:
            return cls(plain, None)
        return cls(plain, gzip.compress(plain, compresslevel=6, mtime=0))

    @property
    def size(self) -> int:
        return len(self.plain) + len(self.compressed or b"")


def accepts_gzip(request: HttpRequest) -> bool:
    return bool(_ACCEPTS_GZIP.search(request.headers.get("Accept-Encoding", "")))


def send(request: HttpRequest, body: Body, *, content_type: str | None = None) -> HttpResponse:
    """`body` as the client takes it."""
    if body.compressed is not None and accepts_gzip(request):
        response = HttpResponse(body.compressed, content_type=content_type)
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(body.plain, content_type=content_type)
    if body.compressed is not None:
        patch_vary_headers(response, ("Accept-Encoding",))
    return response


def _etag_matches(request: HttpRequest, etag: str) -> bool:
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    etags = {tag.removeprefix("W/") for tag in parse_etags(header)}
    return "*" in etags or etag in etags


def answer(
    request: HttpRequest,
    *,
    key: str,
    build: Callable[[], Any],
    scopes: Callable[[Any], Iterable[str]] | None = None,
    known_scopes: Iterable[str] = (),
    member_id: int | None = None,
    max_age: float = store.DEFAULT_TTL,
) -> HttpResponse:
    """A JSON answer kept as an entry (see store.fetch): 304 for a matching If-None-Match.

    `build` returns the data (and raises for bad input: nothing is kept then); `scopes`
    tells from that data what the answer shows. `member_id`: the answer is this member's
    own (it says what they upvoted), kept under their name and fresh after their votes.
    The `Age` header says how many seconds ago the answer was built from the database.
    """

    def built() -> store.Built:
        data = build()
        body = Body.of(JSONRenderer().render(data))
        return store.Built(body, scopes(data) if scopes else (), body.size)

    known = tuple(known_scopes)
    if member_id is not None:
        known += (f"member:{member_id}",)
        key = f"{key}|member:{member_id}"
    entry = store.fetch(f"answer:{key}", built, scopes=known, max_age=max_age)
    body: Body = entry.value
    source = repr((key, entry.deps, entry.built_at)).encode()
    tag = hashlib.blake2b(source, digest_size=16).hexdigest()
    # Each content coding is its own representation, with its own strong ETag.
    gzipped = body.compressed is not None and accepts_gzip(request)
    etag = f'"{tag}-gz"' if gzipped else f'"{tag}"'
    response: HttpResponse
    if _etag_matches(request, etag):
        response = HttpResponseNotModified()
        if body.compressed is not None:
            patch_vary_headers(response, ("Accept-Encoding",))
    else:
        response = send(request, body, content_type="application/json")
    response["ETag"] = etag
    response["Age"] = str(max(0, int(time.time() - entry.built_at)))
    response["Cache-Control"] = "private, no-cache" if member_id is not None else "no-cache"
    if member_id is not None:
        patch_vary_headers(response, ("Authorization", "Cookie"))
    return response

"""Cached answers on the wire: gzip compressed once when built, ETags, and their age.

Browsers and HTTP libraries (huggingface_hub included) ask for gzip; a 130-240 KB page or
API answer then travels at a sixth of its size. A shared answer is compressed once, when
it is built, and kept compressed beside its plain form. Answers that carry a member's
secrets are never compressed (BREACH needs a secret and attacker-chosen text compressed
together).
"""

from __future__ import annotations

import gzip
import re
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response, patch_vary_headers
from rest_framework.renderers import JSONRenderer

from caching import store

GZIP_MIN_BYTES = 1024  # below this, compressing saves less than it costs
_ACCEPTS_GZIP = re.compile(r"\bgzip\b")  # as Django's GZipMiddleware reads Accept-Encoding


class Body(NamedTuple):
    """An answer's bytes, and their gzip form when it is worth sending."""

    plain: bytes
    compressed: bytes | None
    tag: str  # the entity tag of this body (each build makes a new one)

    @classmethod
    def of(cls, plain: bytes) -> Body:
        tag = secrets.token_hex(12)
        if len(plain) < GZIP_MIN_BYTES:
            return cls(plain, None, tag)
        return cls(plain, gzip.compress(plain, compresslevel=6, mtime=0), tag)

    @property
    def size(self) -> int:
        return len(self.plain) + len(self.compressed or b"")


def accepts_gzip(request: HttpRequest) -> bool:
    return bool(_ACCEPTS_GZIP.search(request.META.get("HTTP_ACCEPT_ENCODING", "")))


def send(request: HttpRequest, body: Body, *, content_type: str | None = None) -> HttpResponse:
    """`body` as the client takes it."""
    if body.compressed is not None and accepts_gzip(request):
        response = HttpResponse(body.compressed, content_type=content_type)
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(body.plain, content_type=content_type)
    if body.compressed is not None:
        response["Vary"] = "Accept-Encoding"  # a new response: nothing to merge with
    return response


class Read(NamedTuple):
    """An API read: how to build its data and what it depends on.

    `build` returns the data (and raises for bad input: nothing is kept then); `scopes`
    tells from that data what the answer shows, `known_scopes` what it depends on before
    it is built. `member_id`: the answer is this member's own (it says what they
    upvoted), kept under their name and fresh after their votes.
    """

    key: str
    build: Callable[[], Any]
    scopes: Callable[[Any], Iterable[str]] | None = None
    known_scopes: Iterable[str] = ()
    member_id: int | None = None
    max_age: float = store.DEFAULT_TTL

    @property
    def entry_key(self) -> str:
        if self.member_id is None:
            return f"answer:{self.key}"
        return f"answer:{self.key}|member:{self.member_id}"


def answer(request: HttpRequest, read: Read) -> HttpResponse:
    """A JSON answer kept as an entry (see store.fetch): 304 for a matching If-None-Match.
    The `Age` header says how many seconds ago the answer was built from the database."""

    def built() -> store.Built:
        data = read.build()
        body = Body.of(JSONRenderer().render(data))
        return store.Built(body, read.scopes(data) if read.scopes else (), body.size)

    known = tuple(read.known_scopes)
    if read.member_id is not None:
        known += (f"votes:{read.member_id}",)  # their own votes (papers.caching.voter_scope)
    entry = store.fetch(read.entry_key, built, scopes=known, max_age=read.max_age)
    return _respond(request, read, entry)


def kept_answer(request: HttpRequest, read: Read) -> HttpResponse | None:
    """The answer if one is kept that may be served now, without building anything."""
    entry = store.peek(read.entry_key, max_age=read.max_age)
    return None if entry is None else _respond(request, read, entry)


def _respond(request: HttpRequest, read: Read, entry: store.Entry) -> HttpResponse:
    body: Body = entry.value
    tag = body.tag
    # Each content coding is its own representation, with its own strong ETag.
    gzipped = body.compressed is not None and accepts_gzip(request)
    etag = f'"{tag}-gz"' if gzipped else f'"{tag}"'
    # Django's own conditional GET (what its `condition` decorator runs; the decorator
    # itself would look the entry up twice, as the ETag is only known once it is fetched).
    response: HttpResponse | None = get_conditional_response(request, etag=etag)
    if response is not None:
        if body.compressed is not None:
            response["Vary"] = "Accept-Encoding"
    else:
        response = send(request, body, content_type="application/json")
    response["ETag"] = etag
    response["Age"] = str(max(0, int(time.time() - entry.built_at)))
    if read.member_id is not None:
        response["Cache-Control"] = "private, no-cache"
        patch_vary_headers(response, ("Authorization", "Cookie"))
    else:
        response["Cache-Control"] = "no-cache"
    return response

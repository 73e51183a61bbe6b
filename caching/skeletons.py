"""Pages rendered once with holes, filled for each request without the template engine.

A page differs between requests in a few places only: a member's CSRF token, name and
email, and on each card the vote count and whether this member upvoted it. Templates are
rendered with markers in those places (`hole()`), and the text is cut at the markers into
a `Skeleton`: static text between named holes. Filling a skeleton is one join.

Pages are rendered without the request (`render_page`), so nothing of the request that
built a skeleton can reach another client: member-only parts are rendered for a stand-in
member whose values are holes. Fragments rendered once and reused by many pages (a
paper's card) are kept in `fragments`.

A marker carries a random number drawn when the process starts: text from a paper or a
query cannot forge one.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any, NamedTuple

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from caching.store import LRU

_NONCE = secrets.token_hex(8)
_HOLE = re.compile(f"\x00{_NONCE}:([^\x00]*)\x00")
FRAGMENT_BYTES = 24 * 2**20

# Rendered pieces shared by many pages, with their holes, by what they show.
fragments: LRU[Any, str] = LRU(FRAGMENT_BYTES)


def hole(name: str, arg: object = "") -> SafeString:
    """A marker for what is filled later: `name`, or `name:arg`."""
    return mark_safe(f"\x00{_NONCE}:{name}{f':{arg}' if arg != '' else ''}\x00")


class Skeleton(NamedTuple):
    """Static text around named holes: statics[0] hole[0] statics[1] ... statics[-1]."""

    statics: tuple[Any, ...]  # str, or bytes once encoded
    holes: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Skeleton:
        pieces = _HOLE.split(text)
        return cls(tuple(pieces[0::2]), tuple(pieces[1::2]))

    def resolve(self, values: Mapping[str, str]) -> Skeleton:
        """The skeleton with the holes named in `values` filled (the others kept)."""
        statics = [self.statics[0]]
        holes: list[str] = []
        for name, text in zip(self.holes, self.statics[1:], strict=True):
            value = values.get(name)
            if value is None:
                holes.append(name)
                statics.append(text)
            else:
                statics[-1] += value + text
        return Skeleton(tuple(statics), tuple(holes))

    def encoded(self) -> Skeleton:
        """The same with UTF-8 statics: filled with bytes, it makes a body in one join."""
        return Skeleton(tuple(text.encode() for text in self.statics), self.holes)

    def fill(self, values: Mapping[str, Any]) -> Any:
        """The text (or bytes) with every hole filled; a KeyError names a hole left empty."""
        parts = [self.statics[0]]
        append = parts.append
        for name, text in zip(self.holes, self.statics[1:], strict=True):
            append(values[name])
            append(text)
        return self.statics[0][:0].join(parts)

    @property
    def size(self) -> int:
        return sum(map(len, self.statics)) + 16 * len(self.holes)


class _MemberStandIn:
    """The member a members' skeleton is rendered for: every personal value is a hole."""

    is_authenticated = True
    is_anonymous = False
    label = hole("label")
    email = hole("email")


MEMBER = _MemberStandIn()
CSRF = hole("csrf")


_masked: LRU[str, str] = LRU(2 * 2**20)


def csrf_token(request: HttpRequest) -> str:
    """The CSRF token for a member's page: Django's, masked once per process and secret.

    Django masks the token anew for each response so that it cannot be recovered from
    compressed pages (BREACH). Members' pages are never compressed (caching/responses.py)
    and show the token only to the holder of its secret, so each process masks a secret
    once: masking costs 64 random draws, a third of what filling a whole page costs.
    """
    secret = request.META.get("CSRF_COOKIE")
    if not secret:
        return get_token(request)  # no secret yet: Django makes one and sends its cookie
    token = _masked.get(secret)
    if token is None:
        token = get_token(request)
        _masked.put(secret, token, 200)
    return token


def render_page(template: str, context: dict[str, Any], *, member: bool, messages: Any = ()) -> str:
    """A page rendered for any visitor, or for the member stand-in; never from a request."""
    return render_to_string(
        template,
        {
            **context,
            "user": MEMBER if member else AnonymousUser(),
            "csrf_token": CSRF if member else None,
            "messages": messages,
        },
    )

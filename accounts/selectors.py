"""Reads of accounts: API tokens."""

from __future__ import annotations

import hashlib
from typing import Any

from accounts.models import ApiToken


def api_token_digest(plaintext: str) -> str:
    """The stored form of a token: its SHA-256 digest in hex."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def api_token_by_plaintext(plaintext: str) -> ApiToken | None:
    """The active token with this plaintext, with its (active) member; one query."""
    found = (
        ApiToken.objects.active()
        .select_related("user")
        .filter(key_hash=api_token_digest(plaintext), user__is_active=True)
    )
    return next(iter(found[:1]), None)  # unique key: no ORDER BY (see papers.selectors)


def api_tokens_for(user: Any) -> list[ApiToken]:
    """A member's active tokens, newest first."""
    return list(ApiToken.objects.active().filter(user=user))

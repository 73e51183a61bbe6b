"""Writes to accounts: creating, using and revoking API tokens."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from accounts.models import ApiToken, User
from accounts.selectors import api_token_digest
from caching import announce
from caching.users import token_scope

TOKEN_PREFIX = "dp_"  # noqa: S105 (a label, not a secret)
MAX_ACTIVE_TOKENS = 20
# Recording every use would turn each API read into a write; a few minutes is precise enough.
LAST_USED_PRECISION = timedelta(minutes=5)


class ApiTokenError(Exception):
    """A token that cannot be created; the message says why."""


@dataclass(frozen=True, slots=True)
class NewApiToken:
    token: ApiToken
    plaintext: str  # shown to the member once, never stored


def api_token_create(*, user: User, name: str) -> NewApiToken:
    """Create a named token for the member; only its digest is stored."""
    name = " ".join(name.split())[:100]
    if not name:
        raise ApiTokenError("Give the token a name.")
    if ApiToken.objects.active().filter(user=user).count() >= MAX_ACTIVE_TOKENS:
        raise ApiTokenError(
            f"You have {MAX_ACTIVE_TOKENS} tokens already: revoke one you no longer use."
        )
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        key_hash=api_token_digest(plaintext),
        prefix=plaintext[: len(TOKEN_PREFIX) + 6],
    )
    return NewApiToken(token=token, plaintext=plaintext)


def api_token_revoke(*, user: User, token_id: int) -> bool:
    """Revoke one of the member's own active tokens; False if there is no such token."""
    found = ApiToken.objects.active().filter(pk=token_id, user=user)
    digests = list(found.values_list("key_hash", flat=True))
    revoked = found.update(revoked_at=timezone.now())
    announce(hard=[token_scope(digest) for digest in digests])  # no process honours it
    return revoked == 1


def api_token_record_use(*, token: ApiToken, now: datetime) -> None:
    """Note that the token was used, at most once every few minutes."""
    last = token.last_used_at
    if last is not None and now - last < LAST_USED_PRECISION:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
    announce(soft=[token_scope(token.key_hash)])  # processes read the new time once


def member_set_display_name(*, user: User, name: str) -> None:
    """Set the name others see the member by (validated by DisplayNameForm)."""
    user.display_name = name
    user.save(update_fields=["display_name"])


def member_set_public_profile(*, user: User, bio: str, website: str, show_upvotes: bool) -> None:
    """What the member's public page says of them (validated by PublicProfileForm)."""
    user.bio = bio
    user.website = website
    user.show_upvotes = show_upvotes
    user.save(update_fields=["bio", "website", "show_upvotes"])

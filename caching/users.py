"""Members' user rows and API tokens, kept in each process and checked against their scopes
(`member:<id>`, `token:<digest>`), so authenticating a member's request costs no query.

The authentication backends below are Django's and allauth's, with `get_user` (what runs
on every request of a signed-in member) answered from that copy; Django still verifies the
session against the user's password hash on every request. Every save or deletion of a
user announces their scope as a hard change (accounts/signals.py), and so does every change
to a token (accounts/services.py, accounts/signals.py). A copy is kept for NEAR_SECONDS at
most, so a change made without announcing it (a bulk update) shows within that time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.db.models import Model

from caching.generations import Stamp, generations
from caching.store import CACHE_DOWN, LRU

NEAR_SECONDS = 60
_users: LRU[Any, tuple[_Row, Stamp, float]] = LRU(8 * 2**20)
_tokens: LRU[str, tuple[_Row, _Row, Stamp, Stamp, float]] = LRU(4 * 2**20)


def member_scope(user_id: Any) -> str:
    return f"member:{user_id}"


def token_scope(digest: str) -> str:
    return f"token:{digest}"


class _Row:
    """A model instance's row, from which new instances are made (callers set attributes
    on what they get, so each gets its own)."""

    __slots__ = ("model", "names", "values")

    def __init__(self, instance: Model) -> None:
        self.model = type(instance)
        self.names = [field.attname for field in instance._meta.concrete_fields]
        self.values = [getattr(instance, name) for name in self.names]

    def instance(self) -> Any:
        return self.model.from_db("default", self.names, self.values)


def cached_user(user_id: Any, load: Callable[[Any], Any]) -> Any:
    """The user with this id, from this process's copy when it is current, else `load`."""
    scope = member_scope(user_id)
    try:
        generation = generations.stamp(scope)  # before loading: no change missed
    except CACHE_DOWN:
        return load(user_id)
    kept = _users.get(user_id)
    if kept is not None and kept[1] == generation and time.monotonic() < kept[2]:
        return kept[0].instance()
    user = load(user_id)
    if user is not None:
        _users.put(user_id, (_Row(user), generation, time.monotonic() + NEAR_SECONDS), 1024)
    return user


def cached_token(digest: str, load: Callable[[], Any]) -> Any:
    """The active token with this digest and its member (`load` reads them), from this
    process's copy while neither the token (revoked) nor the member changed.

    The token's generation is read before `load`, so a revocation is never missed; the
    member's after it (the member is known only then), so a member deactivated while this
    process reads their token could use it for NEAR_SECONDS at most."""
    scope = token_scope(digest)
    try:
        generation = generations.stamp(scope)
    except CACHE_DOWN:
        return load()
    kept = _tokens.get(digest)
    if kept is not None:
        token_row, user_row, kept_generation, member_generation, until = kept
        member = member_scope(token_row.values[token_row.names.index("user_id")])
        if (
            kept_generation == generation
            and time.monotonic() < until
            and generations.stamp(member) == member_generation
        ):
            token = token_row.instance()
            token.user = user_row.instance()
            return token
    token = load()
    if token is not None:
        member = member_scope(token.user_id)
        member_generation = generations.stamp(member)
        until = time.monotonic() + NEAR_SECONDS
        row = (_Row(token), _Row(token.user), generation, member_generation, until)
        _tokens.put(digest, row, 2048)
    return token


class ModelBackend(DjangoModelBackend):
    """Django's backend (the admin signs in by username), its users kept in process."""

    def get_user(self, user_id: Any) -> Any:
        return cached_user(user_id, super().get_user)


class AuthenticationBackend(AllauthBackend):
    """allauth's backend (members sign in by email), its users kept in process."""

    def get_user(self, user_id: Any) -> Any:
        return cached_user(user_id, super().get_user)

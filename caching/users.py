"""Members' user rows, kept in each process and checked against their `member:<id>` scope,
so authenticating a member's request costs no query.

The authentication backends below are Django's and allauth's, with `get_user` (what runs
on every request of a signed-in member) answered from that copy. Django still verifies
the session against the user's password hash on every request. Every save or deletion of
a user announces their scope as a hard change (accounts/signals.py), and so does each of
their votes; a copy is kept for NEAR_SECONDS at most, so a change made without a save
(a bulk update) shows within that time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend

from caching.generations import generations
from caching.store import CACHE_DOWN, LRU

NEAR_SECONDS = 60
_users = LRU(8 * 2**20)


def member_scope(user_id: Any) -> str:
    return f"member:{user_id}"


def cached_user(user_id: Any, load: Callable[[Any], Any]) -> Any:
    """The user with this id, from this process's copy when it is current, else `load`."""
    scope = member_scope(user_id)
    try:
        generation = generations.read([scope])[scope]
    except CACHE_DOWN:
        return load(user_id)
    model = get_user_model()
    kept = _users.get(user_id)
    if kept is not None and kept[1] == generation and time.monotonic() < kept[2]:
        names, values = kept[0]
        return model.from_db("default", names, values)  # a new instance each time
    user = load(user_id)
    if user is not None:
        names = [field.attname for field in model._meta.concrete_fields]
        row = (names, [getattr(user, name) for name in names])
        _users.put(user_id, (row, generation, time.monotonic() + NEAR_SECONDS), 1024)
    return user


class ModelBackend(DjangoModelBackend):
    """Django's backend (the admin signs in by username), its users kept in process."""

    def get_user(self, user_id: Any) -> Any:
        return cached_user(user_id, super().get_user)


class AuthenticationBackend(AllauthBackend):
    """allauth's backend (members sign in by email), its users kept in process."""

    def get_user(self, user_id: Any) -> Any:
        return cached_user(user_id, super().get_user)

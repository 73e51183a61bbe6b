"""Sessions: Django's cached_db store (Redis in front of the database), with each session
read recently kept in this process too and checked against its `session:<key>` scope, so
loading a member's session costs no round trip.

Every save and delete announces the session's scope as a hard change: another process
never uses its copy of a session that was changed or ended (a logout, a new login), once
the announcement has reached it (within a millisecond on one machine). A copy is kept for
NEAR_SECONDS at most, so a session is never honoured for long past its expiry.
"""

from __future__ import annotations

import logging
import pickle
import time
from typing import Any

from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore

from caching.generations import Stamp, generations
from caching.store import CACHE_DOWN, LRU

logger = logging.getLogger(__name__)

NEAR_SECONDS = 60
_sessions: LRU[str, tuple[bytes, Stamp, float]] = LRU(8 * 2**20)


def _scope(session_key: str) -> str:
    return f"session:{session_key}"


class SessionStore(CachedDBStore):
    """cached_db sessions with a copy in each process (see the module docstring)."""

    def load(self) -> dict[str, Any]:
        key = self.session_key
        if not key:
            return super().load()
        scope = _scope(key)
        try:
            generation = generations.stamp(scope)
        except CACHE_DOWN:
            return super().load()
        kept = _sessions.get(key)
        if kept is not None and kept[1] == generation and time.monotonic() < kept[2]:
            copy: dict[str, Any] = pickle.loads(kept[0])  # noqa: S301 (our own bytes)
            return copy  # a copy to change at will
        data = super().load()
        if data:
            blob = pickle.dumps(data)
            lifetime = min(NEAR_SECONDS, self.get_expiry_age(expiry=data.get("_session_expiry")))
            _sessions.put(key, (blob, generation, time.monotonic() + lifetime), len(blob) + 100)
        return data

    def save(self, must_create: bool = False) -> None:
        super().save(must_create)
        _announce(self.session_key)

    def delete(self, session_key: str | None = None) -> None:
        key = session_key or self.session_key
        super().delete(session_key)
        _announce(key)


def _announce(session_key: str | None) -> None:
    """At once, not on commit: a session is written to the cache at once too."""
    if not session_key:
        return
    try:
        generations.bump(hard=[_scope(session_key)])
    except CACHE_DOWN:
        logger.warning("sessions: could not announce a change to a session")
        generations.owe_everything()

"""Generations of scopes: what lets a cached entry know, without a round trip, whether
anything it shows has changed since it was built.

A scope names one thing entries depend on (`paper:2608.01147`, `day:2026-08-13`,
`votes:42`, `session:<key>`, `catalog`, `all`). Each scope has two generations, random
numbers replaced by every change:

- `soft` moves with every change (a vote, a new paper, a new source count);
- `hard` moves only with changes that must show at once (a paper hidden by a moderator, a
  member's own vote in what is kept for that member, a session that ended).

An entry records the generations of its scopes when it is built; it is fresh while they
are still the same. Values are random, never counted: after Redis loses them (a restart,
a flush) a scope reads as (0, 0), which matches no entry built before.

On Redis the generations live in one hash; every change is published, and a thread in
each process listens and keeps a copy of the scopes that process has read, so checking an
entry costs dictionary lookups. The copy is trusted only while the listener proves its
subscription alive (a PING answered within the last few seconds); before that, after a
lost connection, every check reads the hash. Other cache backends (the in-process cache of
the embedded mode and of the tests) keep the generations in the cache itself.

An announcement may also carry facts: small values with the time they were announced
(a paper's vote count after a vote), kept by every listening process (`fact()`).

`seq` moves whenever this process learns of a change (its own, or one announced). A
builder notes it before running its queries: if it moved by the time the entry is stored,
a change may have landed between the queries and the reading of the generations, and the
entry is stored as already out of date (see store.py).

With read replicas, each process also notes when it learnt of each change: a request that
reads the generation of a scope changed more recently than a replica may lag (or while the
process cannot know, its listener being new or down) reads the primary from then on, so
nothing is rebuilt from rows older than its generation (config/replicas.py).
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from config import replicas

logger = logging.getLogger(__name__)

Generation = tuple[int, int]  # (soft, hard)
UNSET: Generation = (0, 0)
Stamp = tuple[Generation, Generation]  # what generations.stamp says of a scope
ALL = "all"  # the scope every entry depends on
_HASH = "cache:generations"
PING_SECONDS = 1.0
GATHER_SECONDS = 0.005  # announcements reach a process this much later at most
MIRROR_LIMIT = 200_000  # scopes (and facts) kept per process before the copy starts over


def _new() -> int:
    return secrets.randbits(52) | 1  # never 0, the value of a scope Redis does not hold


class Generations:
    """The scopes' generations, with a per-process copy kept current on Redis."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mirror: dict[str, Generation] = {}
        self._facts: dict[str, tuple[str, float]] = {}
        self._pid: int | None = None  # the process whose listener runs
        self._alive_until = 0.0  # time.monotonic() until which the mirror is trusted
        self._owed = False  # a change could not be announced: announce "everything" later
        self.seq = 0
        self._changed: dict[str, float] = {}  # scope: time.monotonic() this process learnt of it
        self._heard_since = 0.0  # time.monotonic() its listener last (re)subscribed

    def owe_everything(self) -> None:
        """A change could not be announced (Redis was down): once Redis answers again,
        this process announces a change to everything, so no entry built before the change
        is taken for fresh."""
        self._owed = True

    def _pay(self, backend: RedisCache) -> None:
        if self._owed:
            self._owed = False
            try:
                self.bump(soft=[ALL])
            except Exception:
                self._owed = True
                raise

    @property
    def trusted(self) -> bool:
        """Whether this process hears every change (always, without Redis: one process)."""
        backend = caches["default"]
        if not isinstance(backend, RedisCache):
            return True
        self._watch(backend)
        return time.monotonic() < self._alive_until

    # --- reading ----------------------------------------------------------------------

    def read(self, scopes: Iterable[str]) -> dict[str, Generation]:
        """The current generations of these scopes."""
        wanted = list(scopes)
        if replicas.reading_replica() and not self._settled(wanted):
            replicas.read_primary()
        backend = caches["default"]
        if not isinstance(backend, RedisCache):
            names = {scope: f"{_HASH}:{scope}" for scope in wanted}
            found = backend.get_many(list(names.values()))
            return {scope: found.get(name, UNSET) for scope, name in names.items()}
        self._watch(backend)
        if self._owed:
            self._pay(backend)
        known: dict[str, Generation] = {}
        with self._lock:
            trusted = time.monotonic() < self._alive_until
            if trusted:
                known = {s: g for s in wanted if (g := self._mirror.get(s)) is not None}
                if len(known) == len(wanted):
                    return known
            seq = self.seq
        fetched = self._fetch(backend, [s for s in wanted if s not in known])
        with self._lock:
            # Kept only if no change was announced meanwhile: an announcement that arrived
            # while the hash was being read may be newer than what the read returned.
            if trusted and self.seq == seq and time.monotonic() < self._alive_until:
                if len(self._mirror) > MIRROR_LIMIT:
                    self._mirror.clear()
                self._mirror.update(fetched)
        return {**known, **fetched}

    @staticmethod
    def _fetch(backend: RedisCache, scopes: list[str]) -> dict[str, Generation]:
        if not scopes:
            return {}
        name = backend.make_and_validate_key(_HASH)
        client = backend._cache.get_client(name)
        fields = [f"{kind}|{scope}" for scope in scopes for kind in ("s", "h")]
        values = client.hmget(name, fields)
        return {
            scope: (int(values[2 * i] or 0), int(values[2 * i + 1] or 0))
            for i, scope in enumerate(scopes)
        }

    def _settled(self, scopes: list[str]) -> bool:
        """Whether this process knows that none of these scopes changed within the lag a
        read replica in use may have."""
        if not self.trusted:
            return False
        since = time.monotonic() - replicas.lag_window()
        if self._heard_since > since:
            return False
        changed = self._changed
        return not any(changed.get(scope, 0.0) > since for scope in scopes)

    def stamp(self, scope: str) -> Stamp:
        """What a copy of one thing is checked against: its scope's generations and those
        of `all` (changed when announcements were lost, see owe_everything)."""
        found = self.read([scope, ALL])
        return found[scope], found[ALL]

    def facts(self) -> Mapping[str, tuple[str, float]] | None:
        """The last value announced for each fact and when (None when this process may
        have missed announcements: its listener is not trusted)."""
        return self._facts if self.trusted else None

    # --- changing ---------------------------------------------------------------------

    def bump(
        self,
        *,
        soft: Iterable[str] = (),
        hard: Iterable[str] = (),
        facts: Mapping[str, str] | None = None,
    ) -> None:
        """Give new generations to these scopes (`hard` ones move both), and announce the
        facts: one round trip."""
        hard = set(hard)
        soft = set(soft) - hard
        if not soft and not hard:
            return
        values: dict[str, tuple[int, int | None]] = {s: (_new(), None) for s in soft}
        values.update({s: (_new(), _new()) for s in hard})
        now = time.time()
        announced = {key: (value, now) for key, value in (facts or {}).items()}
        self._apply(values, announced)
        backend = caches["default"]
        if not isinstance(backend, RedisCache):
            current = self.read(values)
            stored = {}
            for scope, (new_soft, new_hard) in values.items():
                stored[f"{_HASH}:{scope}"] = (
                    new_soft,
                    current[scope][1] if new_hard is None else new_hard,
                )
            backend.set_many(stored, timeout=None)
            return
        name = backend.make_and_validate_key(_HASH)
        client = backend._cache.get_client(name, write=True)
        mapping: dict[Any, Any] = {}
        lines = []
        for scope, (new_soft, new_hard) in values.items():
            mapping[f"s|{scope}"] = new_soft
            if new_hard is not None:
                mapping[f"h|{scope}"] = new_hard
            lines.append(f"{scope} {new_soft} {'-' if new_hard is None else new_hard}")
        lines += [f"!{key} {value} {at!r}" for key, (value, at) in announced.items()]
        pipeline = client.pipeline(transaction=False)
        pipeline.hset(name, mapping=mapping)
        pipeline.publish(self._channel(client, name), "\n".join(lines))
        pipeline.execute()

    def _apply(
        self, values: dict[str, tuple[int, int | None]], facts: dict[str, tuple[str, float]]
    ) -> None:
        """Record changes in this process's copy (a soft change to a scope whose hard
        generation is not known here drops the scope: the next read fetches it)."""
        now = time.monotonic()
        with self._lock:
            self.seq += 1
            if len(self._changed) > MIRROR_LIMIT:
                self._changed.clear()
                self._heard_since = now  # as unsure as a process that just started listening
            for scope, (new_soft, new_hard) in values.items():
                self._changed[scope] = now
                if new_hard is not None:
                    self._mirror[scope] = (new_soft, new_hard)
                elif (old := self._mirror.get(scope)) is not None:
                    self._mirror[scope] = (new_soft, old[1])
            if len(self._facts) > MIRROR_LIMIT:
                self._facts.clear()
            for key, (value, at) in facts.items():
                # Announcements may cross on their way: the latest announced wins.
                if (old_fact := self._facts.get(key)) is None or old_fact[1] <= at:
                    self._facts[key] = (value, at)

    def forget(self) -> None:
        """Drop this process's copy (after the shared cache was emptied)."""
        with self._lock:
            self._mirror.clear()
            self._facts.clear()
            self.seq += 1

    # --- listening (Redis) --------------------------------------------------------------

    @staticmethod
    def _channel(client: Any, name: str) -> str:
        # Channels are shared by all of a server's databases: name the database too.
        return f"{name}:changed:db{client.connection_pool.connection_kwargs.get('db', 0)}"

    def _watch(self, backend: RedisCache) -> None:
        """Start this process's listener (once per process: a forked worker starts its own)."""
        pid = os.getpid()
        if self._pid == pid:
            return
        with self._lock:
            if self._pid == pid:
                return
            self._pid = pid
            self._mirror.clear()
            self._facts.clear()
            self._alive_until = 0.0
        threading.Thread(
            target=self._listen, args=(backend,), name="cache generations", daemon=True
        ).start()

    def _listen(self, backend: RedisCache) -> None:
        name = backend.make_and_validate_key(_HASH)
        while True:
            try:
                client = backend._cache.get_client(name)
                pubsub = client.pubsub()
                pubsub.subscribe(self._channel(client, name))
                pinged = 0.0
                while True:
                    if time.monotonic() - pinged >= PING_SECONDS:
                        pubsub.ping()
                        pinged = time.monotonic()
                    message = pubsub.get_message(timeout=PING_SECONDS)
                    while message is not None:  # this one, and all that came with it
                        if message["type"] == "pong":
                            with self._lock:
                                self._alive_until = pinged + 3 * PING_SECONDS
                            self._pay(backend)
                        elif message["type"] == "message":
                            self._apply(*_parse(message["data"]))
                        else:  # (re)subscribed: what came before is unknown
                            self.forget()
                            self._heard_since = time.monotonic()
                        message = pubsub.get_message(timeout=0)
                    # Under a thousand votes a second, waking for each announcement costs
                    # every process more than handling it: take them a few at a time.
                    time.sleep(GATHER_SECONDS)
            except Exception:  # a lost connection: read the hash until it is back
                logger.debug("cache generations: listener reconnecting", exc_info=True)
                with self._lock:
                    self._alive_until = 0.0
                time.sleep(PING_SECONDS)


def _parse(
    data: bytes | str,
) -> tuple[dict[str, tuple[int, int | None]], dict[str, tuple[str, float]]]:
    text = data.decode() if isinstance(data, bytes) else data
    values: dict[str, tuple[int, int | None]] = {}
    facts: dict[str, tuple[str, float]] = {}
    for line in text.splitlines():
        if line.startswith("!"):
            key, value, at = line[1:].split(" ")
            facts[key] = (value, float(at))
            continue
        scope, soft, hard = line.split(" ")
        values[scope] = (int(soft), None if hard == "-" else int(hard))
    return values, facts


generations = Generations()

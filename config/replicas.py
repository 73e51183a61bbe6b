"""Read replicas: which database each query reads, and which replicas may be read.

DATABASE_REPLICA_URLS names PostgreSQL streaming replicas of `default` (the primary); each
is an alias, `replica_1`, `replica_2`, ... (config/settings.py). The rules, in the order
`Router.db_for_read` applies them:

- Writes and migrations go to the primary, always.
- Only a request that changes nothing (GET, HEAD, OPTIONS) reads a replica. A request that
  may write (POST, PUT, PATCH, DELETE) reads the primary from start to end, and its answer
  carries a signed cookie that keeps its browser on the primary for
  DATABASE_REPLICA_PIN_SECONDS: whoever just voted, commented or saved a paper sees it on
  their next pages whatever the replicas' lag. An API client that keeps cookies
  (huggingface_hub's session does) is kept on the primary the same way; one that does not
  sees its own writes after the replicas' lag, like everyone else.
- Everything outside a request reads the primary: Celery tasks, management commands, the
  shell. A task computes what it writes from what it reads (a digest, an ingestion, the
  counts of a vote), and a replica would let it compute from the past.
- A read inside a transaction reads the primary, where the transaction's own writes and
  locks are.
- The caches (caching/): an entry is rebuilt because something it shows changed, and a
  replica that has not replayed the change yet would build it from the old rows, then keep
  them under the new generation until the next change. So a request that reads the
  generation of a scope changed within the lag a replica in use may have (`lag_window`)
  reads the primary from then on (caching/generations.py calls `read_primary`). A page
  whose papers did not change lately (most of them) is rebuilt from a replica.
- Each process checks each replica every CHECK_SECONDS in a thread of its own, never in a
  request: a replica is read only while its last check, at most TRUST_SECONDS old, found
  it streaming from the primary and at most DATABASE_REPLICA_MAX_LAG_SECONDS behind (none
  when it has replayed all it received). One that lags, stops streaming, cannot be reached
  (a connection gives up after 2 s) or hangs is left out, and its reads go to another
  replica or the primary; it is put back at the first check that finds it well. Both are
  logged.
- A replica can stop between two checks: a request that read nothing but failed on it is
  answered again, from the primary, and the replica is left out until a check finds it
  well again. A page never fails because a replica did.

One request reads one replica (chosen at random at its first read), so what it reads is
one consistent moment, until it switches to the primary.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

CHECK_SECONDS = 2.0  # how often each process checks each replica
TRUST_MULTIPLE = 3  # a check older than this many periods says nothing (a hung replica)
PIN_COOKIE = "read_primary"
_PIN_SALT = "config.replicas.pin"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

# One round trip: in recovery; streaming from the primary (a row for its WAL receiver,
# whose details only privileged roles see); replayed all it received (after a restart,
# what it replays from its own files can be ahead of what it received since); how old
# the last transaction it replayed is.
_CHECK = """
SELECT pg_is_in_recovery(),
       EXISTS (SELECT 1 FROM pg_stat_wal_receiver),
       pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn(),
       EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8
"""


def trust_seconds() -> float:
    return TRUST_MULTIPLE * CHECK_SECONDS


def lag_window() -> float:
    """How far behind the primary a replica in use can be: the most lag a check lets
    through, plus the time since that check."""
    return float(settings.DATABASE_REPLICA_MAX_LAG_SECONDS) + trust_seconds()


# --- where this request reads ------------------------------------------------------------


@dataclass
class _Reads:
    """Where the current request reads: the primary, or the replica chosen at its first
    read (None before it)."""

    primary: bool
    replica: str | None = None


_reads: ContextVar[_Reads | None] = ContextVar("database reads", default=None)


def read_primary() -> None:
    """The rest of the current request reads the primary (outside a request it does)."""
    state = _reads.get()
    if state is not None:
        state.primary = True


def reading_replica() -> bool:
    """Whether the current request's next read may go to a replica."""
    state = _reads.get()
    return state is not None and not state.primary


class Router:
    """Django's database router: reads as the module docstring says, writes and
    migrations on the primary."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str:
        state = _reads.get()
        if state is None or state.primary or connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        if state.replica is None:
            usable = health.usable()
            if not usable:
                state.primary = True
                return DEFAULT_DB_ALIAS
            state.replica = random.choice(usable)  # noqa: S311  (spreading load)
        return state.replica

    def db_for_write(self, model: type[Any], **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        same = {DEFAULT_DB_ALIAS, *settings.DATABASE_REPLICAS}
        return True if {obj1._state.db, obj2._state.db} <= same else None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if db in settings.DATABASE_REPLICAS else None


class ReadReplicas:
    """Middleware: where each request reads, the cookie that keeps a browser that wrote on
    the primary, and a second try on the primary for a read that failed on a replica."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not settings.DATABASE_REPLICAS:
            return self.get_response(request)
        safe = request.method in SAFE_METHODS
        state = _Reads(primary=not safe or _pinned(request))
        token = _reads.set(state)
        try:
            response = self.get_response(request)
            failed = state.replica
            if (
                failed is not None
                and safe
                and response.status_code >= 500
                and connections[failed].errors_occurred
            ):
                health.take_out(failed, "a query failed on it")
                _reads.set(_Reads(primary=True))
                response = self.get_response(request)
        finally:
            _reads.reset(token)
        if not safe and settings.DATABASE_REPLICA_PIN_SECONDS > 0:
            response.set_signed_cookie(
                PIN_COOKIE,
                "1",
                salt=_PIN_SALT,
                max_age=settings.DATABASE_REPLICA_PIN_SECONDS,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response


def _pinned(request: HttpRequest) -> bool:
    """Whether this browser wrote within DATABASE_REPLICA_PIN_SECONDS (a valid cookie)."""
    if PIN_COOKIE not in request.COOKIES:
        return False
    value = request.get_signed_cookie(
        PIN_COOKIE,
        default=None,
        salt=_PIN_SALT,
        max_age=settings.DATABASE_REPLICA_PIN_SECONDS,
    )
    return value is not None


# --- which replicas may be read ----------------------------------------------------------


def verdict(row: tuple[Any, ...], max_lag: float) -> tuple[bool, str]:
    """Whether a replica may be read, and why, from what _CHECK answered."""
    in_recovery, streaming, caught_up, lag = row
    if not in_recovery:
        return True, "it is not in recovery (a primary)"
    if not streaming:
        return False, "it is not streaming from the primary"
    if caught_up:
        return True, "it has replayed all it received"
    if lag is None:
        return False, "its lag is unknown"
    if lag > max_lag:
        return False, f"{lag:.1f} s behind (DATABASE_REPLICA_MAX_LAG_SECONDS={max_lag:g})"
    return True, f"{lag:.1f} s behind"


@dataclass
class _Replica:
    usable: bool = False
    reason: str = "not checked yet"
    checked: float = 0.0  # time.monotonic() of the last check, 0 before the first


class Health:
    """Each replica's last check, made by a thread per replica and process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._replicas: dict[str, _Replica] = {}
        self._threads: dict[str, tuple[int, threading.Event, threading.Thread]] = {}

    def usable(self) -> list[str]:
        """The replicas whose recent check found them well (no I/O)."""
        now = time.monotonic()
        found = []
        for alias in settings.DATABASE_REPLICAS:
            self._watch(alias)
            replica = self._replicas.get(alias)
            if replica and replica.usable and now - replica.checked < trust_seconds():
                found.append(alias)
        return found

    def take_out(self, alias: str, reason: str) -> None:
        """Leave `alias` out until its next check finds it well."""
        self._record(alias, False, reason)

    def stop(self) -> None:
        """End this process's checks and forget what they found (tests)."""
        with self._lock:
            threads = list(self._threads.values())
            self._threads.clear()
            self._replicas.clear()
        for _pid, stop, _thread in threads:
            stop.set()
        for _pid, _stop, thread in threads:
            thread.join(timeout=10)

    def _watch(self, alias: str) -> None:
        """Start the checks of `alias` in this process (a forked worker starts its own)."""
        pid = os.getpid()
        started = self._threads.get(alias)
        if started is not None and started[0] == pid:
            return
        with self._lock:
            started = self._threads.get(alias)
            if started is not None and started[0] == pid:
                return
            if started is not None:  # the parent's, before a fork
                self._replicas.pop(alias, None)
            stop = threading.Event()
            thread = threading.Thread(
                target=self._run, args=(alias, stop), name=f"replica {alias}", daemon=True
            )
            self._threads[alias] = (pid, stop, thread)
        thread.start()

    def _run(self, alias: str, stop: threading.Event) -> None:
        connection: psycopg.Connection[Any] | None = None
        while not stop.is_set() and alias in settings.DATABASE_REPLICAS:
            try:
                if connection is None or connection.closed:
                    params = connections[alias].get_connection_params()
                    connection = psycopg.connect(**params, autocommit=True)
                row = connection.execute(_CHECK).fetchone()
                assert row is not None  # one row, always
                usable, reason = verdict(row, float(settings.DATABASE_REPLICA_MAX_LAG_SECONDS))
            except Exception as exc:  # unreachable, refused, restarting: all mean "out"
                if connection is not None:
                    connection.close()
                    connection = None
                first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                usable, reason = False, f"unreachable ({exc.__class__.__name__}: {first_line})"
            self._record(alias, usable, reason)
            stop.wait(CHECK_SECONDS)
        if connection is not None:
            connection.close()

    def _record(self, alias: str, usable: bool, reason: str) -> None:
        with self._lock:
            replica = self._replicas.setdefault(alias, _Replica())
            first, was = replica.checked == 0.0, replica.usable
            replica.usable, replica.reason, replica.checked = usable, reason, time.monotonic()
        if usable and first:
            logger.info("read replica %s in use: %s", alias, reason)
        elif usable and not was:
            logger.info("read replica %s put back: %s", alias, reason)
        elif not usable and (was or first):
            logger.warning("read replica %s taken out: %s", alias, reason)


health = Health()

"""A real streaming replica of the test database for the read-replica tests."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connections

from config import replicas
from tests.config.servers import Replica

ALIAS = "replica_1"
# The database access of a test that reads the replica.
REPLICA_DB = pytest.mark.django_db(transaction=True, databases=["default", ALIAS])


@pytest.fixture(scope="session")
def replica_server(django_db_setup) -> Iterator[Replica]:
    """A hot standby of the test server, started once the test database exists (so it
    streams it) and stopped at the end of the session, and the alias `replica_1` reading
    the test database on it, as DATABASE_REPLICA_URLS would configure it.

    The alias is in DATABASES from then on, but only tests that set DATABASE_REPLICAS
    (the `replica` fixture) read it; a test's `databases` must name it (REPLICA_DB). When
    the standby cannot start, the tests that need it fail: they are never skipped on
    PostgreSQL."""
    if connections["default"].vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://...")
    name = connections["default"].settings_dict["NAME"]
    # Not under pytest's own folder: its parents are private to us, the server runs as
    # `postgres`.
    server = Replica(Path(tempfile.mkdtemp(prefix="dp-replica-")), slot=f"{name}_replica"[:63])
    try:
        server.create()
    except Exception as exc:
        server.destroy()
        hint = ""
        if "replication connection" in str(exc):
            hint = (
                "\nThe server must accept replication connections from 127.0.0.1: add "
                "`host replication all 127.0.0.1/32 trust` to its pg_hba.conf and reload "
                "(.ci/run does)."
            )
        pytest.fail(f"could not start a streaming replica: {exc}{hint}", pytrace=False)
    django_settings.DATABASES[ALIAS] = server.database()  # the dict `connections` reads
    try:
        yield server
    finally:
        connections[ALIAS].close()
        del connections[ALIAS]
        del django_settings.DATABASES[ALIAS]
        server.destroy()


@pytest.fixture
def replica(replica_server, settings, monkeypatch) -> Iterator[Replica]:
    """The replica in use, checked every 0.2 s, running and caught up. Tests that use it
    commit what they write (REPLICA_DB): a replica never sees an open transaction's."""
    monkeypatch.setattr(replicas, "CHECK_SECONDS", 0.2)
    replica_server.restore()
    settings.DATABASE_REPLICAS = [ALIAS]
    try:
        yield replica_server
    finally:
        replicas.health.stop()
        connections[ALIAS].close()
        replica_server.restore()

"""Read replicas: visitors read a replica; writes, and whoever just wrote, read the
primary; a lagging or stopped replica is left out and put back. First the rules on their
own, then against a real streaming replica of the test database (tests/config/conftest.py,
the PostgreSQL pass)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path

import psycopg
import pytest
import time_machine
from django.apps import apps
from django.db import connections, transaction
from django.http import HttpRequest, HttpResponse
from django.test import Client

from caching import store
from caching.generations import Generations, generations
from config import replicas
from config.replicas import PIN_COOKIE, ReadReplicas, Router, verdict
from papers.models import Paper
from readinglists.services import collection_create
from tests.config.conftest import ALIAS, REPLICA_DB
from tests.factories import PaperFactory

ROOT = Path(__file__).resolve().parents[2]
JSON = "application/json"


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> float:
    """Seconds until `condition` holds."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, "timed out"
        time.sleep(0.02)
    return time.monotonic() - started


def reads(request: HttpRequest, *steps: Callable[[], object]) -> tuple[list[str], HttpResponse]:
    """Where a request's reads go, before and after each step it takes."""
    seen: list[str] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(Router().db_for_read(Paper))
        for step in steps:
            step()
            seen.append(Router().db_for_read(Paper))
        return HttpResponse("ok")

    return seen, ReadReplicas(view)(request)


@pytest.fixture
def one_replica(settings, monkeypatch):
    """A replica the router may choose: its checks (stood in for) find it well."""
    settings.DATABASE_REPLICAS = [ALIAS]
    monkeypatch.setattr(replicas.health, "usable", lambda: [ALIAS])


@pytest.fixture
def short_lag(settings, monkeypatch):
    """Replicas at most 0.15 s behind, so what changed longer ago is theirs."""
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 0
    monkeypatch.setattr(replicas, "CHECK_SECONDS", 0.05)


def settle(copy: Generations) -> None:
    """Until the process's copy of the generations hears every change (on Redis, its
    listener is subscribed) and longer ago than a replica may lag."""
    copy.read(["anything"])
    wait_for(lambda: copy.trusted)
    time.sleep(replicas.lag_window() + 0.05)


# --- the rules -----------------------------------------------------------------------------


def test_a_safe_request_reads_a_replica_and_one_that_may_write_reads_the_primary(one_replica, rf):
    assert reads(rf.get("/"))[0] == [ALIAS]
    assert reads(rf.head("/"))[0] == [ALIAS]
    for method in ("post", "put", "patch", "delete"):
        seen, response = reads(getattr(rf, method)("/"))
        assert seen == ["default"]
        pin = response.cookies[PIN_COOKIE]
        assert pin["max-age"] == 15
        assert pin["httponly"]
        assert pin["samesite"] == "Lax"


def test_a_browser_that_wrote_reads_the_primary_for_the_pin_seconds(one_replica, rf, settings):
    settings.DATABASE_REPLICA_PIN_SECONDS = 15
    with time_machine.travel(dt.datetime(2026, 6, 12, 12, tzinfo=dt.UTC), tick=False) as clock:
        pin = reads(rf.post("/"))[1].cookies[PIN_COOKIE].value
        pinned = rf.get("/")
        pinned.COOKIES[PIN_COOKIE] = pin
        assert reads(pinned)[0] == ["default"]
        clock.shift(16)
        later = rf.get("/")
        later.COOKIES[PIN_COOKIE] = pin
        assert reads(later)[0] == [ALIAS]
    forged = rf.get("/")
    forged.COOKIES[PIN_COOKIE] = "1"
    assert reads(forged)[0] == [ALIAS]


def test_tasks_commands_and_transactions_read_the_primary(one_replica, rf, transactional_db):
    assert Router().db_for_read(Paper) == "default"  # outside a request: a task, a command

    def in_a_transaction() -> None:
        with transaction.atomic():
            assert Router().db_for_read(Paper) == "default"

    assert reads(rf.get("/"), in_a_transaction)[0] == [ALIAS, ALIAS]


def test_writes_and_migrations_go_to_the_primary_only(settings):
    settings.DATABASE_REPLICAS = [ALIAS]
    router = Router()
    assert router.db_for_write(Paper) == "default"
    assert router.allow_migrate(ALIAS, "papers") is False
    assert router.allow_migrate("default", "papers") is None  # Django's default: yes


def test_without_replicas_nothing_changes(rf):
    seen, response = reads(rf.post("/"))
    assert seen == ["default"]
    assert PIN_COOKIE not in response.cookies
    assert reads(rf.get("/"))[0] == ["default"]


def test_with_no_replica_well_every_read_goes_to_the_primary(settings, monkeypatch, rf):
    settings.DATABASE_REPLICAS = [ALIAS]
    monkeypatch.setattr(replicas.health, "usable", lambda: [])
    assert reads(rf.get("/"))[0] == ["default"]


@pytest.mark.parametrize(
    ("row", "usable", "reason"),
    [
        ((False, False, None, None), True, "not in recovery"),
        ((True, False, True, 0.0), False, "not streaming from the primary"),
        ((True, True, True, None), True, "replayed all it received"),  # nothing to replay
        ((True, True, True, 600.0), True, "replayed all it received"),  # idle, not behind
        ((True, True, False, 3.0), True, "3.0 s behind"),
        ((True, True, False, 12.5), False, "12.5 s behind (DATABASE_REPLICA_MAX_LAG_SECONDS=10)"),
        ((True, True, False, None), False, "unknown"),
    ],
)
def test_a_replica_is_read_while_it_streams_and_lags_less_than_the_limit(row, usable, reason):
    found = verdict(row, 10.0)
    assert found[0] is usable
    assert reason in found[1]


def test_a_request_that_meets_a_recent_change_reads_the_primary_from_then_on(
    one_replica, short_lag, rf
):
    copy = Generations()
    settle(copy)
    copy.bump(soft=["paper:new"])

    def old() -> object:
        return copy.read(["paper:old"])

    def new() -> object:
        return copy.read(["paper:new"])

    assert reads(rf.get("/"), old, new, old)[0] == [ALIAS, ALIAS, "default", "default"]
    time.sleep(replicas.lag_window())  # a replica in use has it by now
    assert reads(rf.get("/"), old, new)[0] == [ALIAS, ALIAS, ALIAS]


def test_an_entry_is_built_from_the_primary_when_a_scope_it_shows_changed_lately(
    one_replica, short_lag, rf
):
    """Else it would keep the replica's older rows under the change's generation."""
    settle(generations)
    generations.bump(soft=["paper:changed"])
    builds: list[str] = []

    def entry(*, known: str, found: str) -> Callable[[], object]:
        def build() -> store.Built:
            builds.append(Router().db_for_read(Paper))
            return store.Built("value", scopes=[found])

        return lambda: store.build_entry(build, scopes=[known])

    reads(rf.get("/"), entry(known="day:quiet", found="paper:quiet"))
    assert builds == [ALIAS]
    builds.clear()
    reads(rf.get("/"), entry(known="paper:changed", found="paper:quiet"))
    assert builds == ["default"]
    builds.clear()
    # Found by the build (a search's papers): built again, from the primary.
    reads(rf.get("/"), entry(known="day:quiet", found="paper:changed"))
    assert builds == [ALIAS, "default"]


def _settings_of(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import json, config.settings as s; print(json.dumps({'replicas': s.DATABASE_REPLICAS,"
        " 'databases': s.DATABASES}, default=str))"
    )
    clean = {"PATH": os.environ["PATH"], "VAR_DIR": str(tmp_path), **env}
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True
    )


def test_each_replica_url_is_an_alias_with_the_primarys_options(tmp_path):
    result = _settings_of(
        tmp_path,
        DATABASE_URL="postgres://app:pw@primary:5432/papers",
        DATABASE_REPLICA_URLS="postgres://app:pw@replica-a:5432/papers, postgres://app:pw@b/papers",
        DATABASE_POOL_MODE="transaction",
    )
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["replicas"] == ["replica_1", "replica_2"]
    default, first, second = (shown["databases"][a] for a in ("default", *shown["replicas"]))
    assert (first["HOST"], second["HOST"]) == ("replica-a", "b")
    for replica in (first, second):
        for same in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS", "DISABLE_SERVER_SIDE_CURSORS", "NAME"):
            assert replica[same] == default[same]
        assert replica["OPTIONS"] == {**default["OPTIONS"], "connect_timeout": 2}
        assert replica["TEST"] == {"MIRROR": "default"}
    assert default["OPTIONS"] == {"prepare_threshold": None}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_REPLICA_URLS": "postgres://app@replica/papers"}, "DATABASE_REPLICA_URLS"),
        (
            {
                "DATABASE_URL": "postgres://app@primary/papers",
                "DATABASE_REPLICA_URLS": "sqlite:///x.db",
            },
            "DATABASE_REPLICA_URLS",
        ),
        ({"DATABASE_REPLICA_MAX_LAG_SECONDS": "-1"}, "DATABASE_REPLICA_MAX_LAG_SECONDS"),
    ],
)
def test_replicas_of_anything_but_postgresql_are_refused(tmp_path, env, message):
    result = _settings_of(tmp_path, **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


# --- a real streaming replica --------------------------------------------------------------


@pytest.mark.postgres
@REPLICA_DB
def test_visitors_read_the_replica_and_a_member_who_wrote_reads_the_primary(
    replica, alice, bob, settings
):
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 5
    paper = PaperFactory()
    member, visitor = Client(), Client()
    member.force_login(alice)
    wait_for(lambda: replicas.health.usable() == [ALIAS])
    time.sleep(replicas.lag_window())  # nothing changed lately: every read may go to it
    replica.wait_caught_up()
    replica.pause()

    # While the replica replays nothing: a collection made on the primary, and a member who
    # votes and makes a private collection through the API.
    club = collection_create(owner=bob, name="Reading club", visibility="public")
    voted = member.post(f"/api/papers/{paper.arxiv_id}/upvote")
    assert voted.status_code == HTTPStatus.OK
    assert PIN_COOKIE in voted.cookies
    made = member.post("/api/collections", {"name": "To read"}, content_type=JSON)
    assert made.status_code == HTTPStatus.CREATED
    mine = "/api/collections/" + made.json()["slug"]
    theirs = f"/api/collections/bob/{club.slug}"

    # The member who wrote reads the primary: their collection is there.
    assert member.get(mine).status_code == HTTPStatus.OK
    # Without the cookie, the same member, and a visitor, read the replica, which does not
    # have either collection yet...
    del member.cookies[PIN_COOKIE]
    assert member.get(mine).status_code == HTTPStatus.NOT_FOUND
    assert visitor.get(theirs).status_code == HTTPStatus.NOT_FOUND
    # ...but an answer rebuilt because the vote changed it is built from the primary.
    votes = Paper.objects.get(pk=paper.pk).votes
    assert visitor.get(f"/api/papers/{paper.arxiv_id}").json()["upvotes"] == votes
    assert replicas.health.usable() == [ALIAS]  # it was in use all along

    replica.resume()
    assert member.get(mine).status_code == HTTPStatus.OK
    assert visitor.get(theirs).status_code == HTTPStatus.OK


@pytest.mark.postgres
@REPLICA_DB
def test_a_replica_lagging_beyond_the_limit_is_left_out_until_it_catches_up(
    replica, bob, settings, caplog
):
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 1
    caplog.set_level("INFO", logger="config.replicas")
    visitor = Client()
    wait_for(lambda: replicas.health.usable() == [ALIAS])
    replica.wait_caught_up()
    replica.pause()
    paused = time.monotonic()
    club = collection_create(owner=bob, name="Reading club", visibility="public")

    wait_for(lambda: replicas.health.usable() == [])
    lag = time.monotonic() - paused
    [(behind,)] = replica.sql(
        "SELECT EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8"
    )
    # Left out once more than a second behind (checked every 0.2 s), and its reads go to
    # the primary, which has the collection.
    assert behind > 1.0
    assert lag < 1.0 + 3 * replicas.CHECK_SECONDS + 1.0
    assert visitor.get(f"/api/collections/bob/{club.slug}").status_code == HTTPStatus.OK
    assert "read replica replica_1 taken out" in caplog.text
    assert "behind (DATABASE_REPLICA_MAX_LAG_SECONDS=1)" in caplog.text

    replica.resume()
    back = wait_for(lambda: replicas.health.usable() == [ALIAS], timeout=5)
    assert "read replica replica_1 put back" in caplog.text
    print(
        f"\nlagging replica: out {lag:.2f} s after replay paused ({behind:.2f} s behind), "
        f"back {back:.2f} s after it resumed"
    )


@pytest.mark.postgres
@REPLICA_DB
def test_a_stopped_replica_fails_no_request_and_is_put_back_when_it_returns(
    replica, bob, monkeypatch, caplog
):
    caplog.set_level("INFO", logger="config.replicas")
    club = collection_create(owner=bob, name="Reading club", visibility="public")
    path = f"/api/collections/bob/{club.slug}"
    visitor = Client()
    # Checks far apart, so the replica stops between two of them.
    replicas.health.stop()
    monkeypatch.setattr(replicas, "CHECK_SECONDS", 30.0)
    replica.wait_caught_up()
    wait_for(lambda: replicas.health.usable() == [ALIAS])
    assert visitor.get(path).status_code == HTTPStatus.OK  # from the replica: a connection
    assert connections[ALIAS].connection is not None

    replica.stop()
    started = time.monotonic()
    answer = visitor.get(path)
    first = time.monotonic() - started
    assert answer.status_code == HTTPStatus.OK  # answered again, from the primary
    assert replicas.health.usable() == []  # left out at once
    assert "taken out: a query failed on it" in caplog.text
    assert first < 2.0
    for _ in range(20):
        assert visitor.get(path).status_code == HTTPStatus.OK

    # Checked every 0.2 s again: it stays out while stopped, and comes back by itself.
    replicas.health.stop()
    monkeypatch.setattr(replicas, "CHECK_SECONDS", 0.2)
    assert replicas.health.usable() == []
    time.sleep(1)
    assert replicas.health.usable() == []
    assert "unreachable" in caplog.text
    restarted = time.monotonic()
    replica.start()  # returns once it caught up
    wait_for(lambda: replicas.health.usable() == [ALIAS], timeout=10)
    back = time.monotonic() - restarted
    assert "read replica replica_1 put back" in caplog.text
    assert visitor.get(path).status_code == HTTPStatus.OK
    print(f"\nstopped replica: first request {first * 1000:.0f} ms; back {back:.2f} s after start")


@pytest.mark.postgres
@REPLICA_DB
def test_writes_and_migrations_never_reach_the_replica(replica, rf):
    name = connections["default"].settings_dict["NAME"]
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        replica.sql("CREATE TABLE written_here (id int)", dbname=name)
    wait_for(lambda: replicas.health.usable() == [ALIAS])

    def writes() -> None:
        paper = PaperFactory()
        assert paper._state.db == "default"
        Paper.objects.filter(pk=paper.pk).update(title="Renamed")
        made = {"title": "Made", "listed_on": dt.date(2026, 6, 12)}
        Paper.objects.get_or_create(arxiv_id="2612.99999", defaults=made)
        with transaction.atomic():
            Paper.objects.select_for_update().get(pk=paper.pk)
        replica.wait_caught_up()
        Paper.objects.get(pk=paper.pk).delete()  # read from the replica, deleted on the primary

    seen, _ = reads(rf.get("/"), writes)
    assert seen == [ALIAS, ALIAS]  # the request read the replica, which refuses every write
    assert list(Paper.objects.values_list("arxiv_id", flat=True)) == ["2612.99999"]
    for app in {model._meta.app_label for model in apps.get_models()}:
        assert Router().allow_migrate(ALIAS, app) is False

"""Faults with real processes: a Redis of the test's own that stops and comes back, and a
PostgreSQL whose connections are cut. Nothing lost, nothing duplicated, no 5xx."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from http import HTTPStatus

import pytest
import redis
from django.db import connection

from accounts.services import api_token_create
from caching import store
from papers.models import Paper
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OwnRedis:
    """A redis-server of the test's own, on a port nobody else uses."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def own_redis(settings):
    if not shutil.which("redis-server"):
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed (CI runs this test)")
        pytest.skip("redis-server is not installed")
    server = OwnRedis()
    server.start()
    settings.REDIS_URL = server.url
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": server.url,
            "KEY_PREFIX": "dp",
        }
    }
    store.forget()
    yield server
    if server.process and server.process.poll() is None:
        server.stop()
    store.forget()


def test_with_redis_down_pages_the_api_and_votes_keep_working_and_recover(
    client, alice, own_redis, commit
):
    paper = PaperFactory(listed_on="2026-06-12")
    token = api_token_create(user=alice, name="laptop").plaintext
    urls = [
        "/papers/date/2026-06-12",
        f"/papers/{paper.arxiv_id}",
        "/api/daily_papers?date=2026-06-12",
    ]
    for url in urls:
        assert client.get(url).status_code == HTTPStatus.OK  # cached in Redis and in process

    own_redis.stop()

    for url in urls:
        assert client.get(url).status_code == HTTPStatus.OK, url
    vote = commit(
        lambda: client.post(
            f"/api/papers/{paper.arxiv_id}/upvote", HTTP_AUTHORIZATION=f"Bearer {token}"
        )
    )
    assert vote.status_code == HTTPStatus.OK
    assert Paper.objects.get().upvote_count == 1  # counted in the database
    health = client.get("/healthz")
    assert health.status_code == HTTPStatus.OK
    assert health.json()["status"] == "degraded"

    own_redis.start()  # an empty Redis, as after a restart

    page = client.get(f"/papers/{paper.arxiv_id}").content.decode()
    assert '<span class="count">1</span>' in page  # nothing stale came back
    assert client.get("/healthz").json()["status"] == "ok"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_after_the_database_drops_every_connection_the_site_recovers_by_itself(live_server):
    import httpx
    import psycopg

    PaperFactory(listed_on="2026-06-12")
    url = f"{live_server.url}/papers/search?q=paper"
    assert httpx.get(url).status_code == HTTPStatus.OK  # the server holds a connection now

    # What a restart does to the site's connections: the server ends every one of them.
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        dbname=settings["NAME"],
        autocommit=True,
    ) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )

    connection.close()  # the test's own was ended too
    statuses = [httpx.get(f"{url}&page={n}").status_code for n in range(1, 4)]

    assert set(statuses) <= {HTTPStatus.OK, HTTPStatus.SERVICE_UNAVAILABLE}  # never a 500
    assert statuses[-1] == HTTPStatus.OK  # reconnected without a restart


def test_a_request_the_database_cannot_answer_gets_a_503_with_retry_after(client, monkeypatch):
    from django.db import OperationalError
    from django.db.backends.base.base import BaseDatabaseWrapper

    def unreachable(self):
        raise OperationalError("connection refused")

    monkeypatch.setattr(BaseDatabaseWrapper, "ensure_connection", unreachable)
    page = client.get("/papers/search?q=anything")
    api = client.get("/api/papers/search?q=anything")

    assert page.status_code == api.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert page["Retry-After"] == "5"
    assert "not answering" in api.json()["error"]

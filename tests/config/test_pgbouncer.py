"""PgBouncer in transaction mode (DATABASE_POOL_MODE=transaction): the site migrates a new
database, ingests a recorded file, takes votes from many clients at once and serves pages
and searches through it, with two server connections for them all.

A server connection serves one transaction, then another client's: nothing may outlive a
transaction on it. PgBouncer before 1.21 (Debian 12 has 1.18) keeps no prepared statement
(the token lookup and the vote prepare theirs), and none keeps a server-side cursor (a
`.iterator()`, as when a process loads the vectors for search). The test fails on the
first "prepared statement does not exist" or "cursor does not exist".
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from pathlib import Path

import pytest
from django.db import connections

from tests.config.servers import (
    ROOT,
    PgBouncer,
    database_url,
    django_env,
    free_port,
    gunicorn,
    sql,
)
from tests.conftest import HF_DAILY

pytestmark = pytest.mark.postgres
MEMBERS = 6
VOTED = 10  # papers each member votes for
DAY = "2026-06-12"

_MEMBERS_AND_TOKENS = f"""
import json
from accounts.models import User
from accounts.services import api_token_create
tokens = []
for n in range({MEMBERS}):
    user = User.objects.create_user(f"voter{{n}}", f"voter{{n}}@example.org", "pw-voter-123!")
    tokens.append(api_token_create(user=user, name="votes").plaintext)
print(json.dumps(tokens))
"""


@pytest.fixture
def bouncer() -> Iterator[PgBouncer]:
    if connections["default"].vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://...")
    folder = Path(tempfile.mkdtemp(prefix="dp-pgbouncer-"))
    server = PgBouncer(folder, pool_size=2)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def database(django_db_setup) -> Iterator[str]:
    """An empty database of its own, next to the test database."""
    name = f"{connections['default'].settings_dict['NAME']}_pgbouncer"[:63]
    sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    sql(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(  # noqa: S603  (manage.py of this checkout)
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=60) as answer:  # noqa: S310  (our server)
        return answer.status, answer.read()


def test_the_site_runs_through_pgbouncer_in_transaction_mode(bouncer, database, tmp_path):
    redis = os.environ.get("REDIS_URL")
    env = django_env(
        DATABASE_URL=database_url(port=bouncer.port, name=database),
        DATABASE_POOL_MODE="transaction",
        VAR_DIR=str(tmp_path / "var"),
        CELERY_TASK_ALWAYS_EAGER="true",  # the embeddings of the ingested papers, at once
        API_THROTTLE_USER="100000/min",
        VOTE_THROTTLE="100000/min",
        API_THROTTLE_ANON="100000/min",
        PROMETHEUS_MULTIPROC_DIR=None,
        REDIS_URL=redis,
    )
    # Without Redis each process would keep its own cache: one process, many threads.
    processes = 2 if redis else 1

    manage(env, "migrate", "--no-input", "-v", "0")
    assert "created 30" in manage(env, "ingest", "file", str(HF_DAILY))
    tokens = json.loads(manage(env, "shell", "-c", _MEMBERS_AND_TOKENS).strip().splitlines()[-1])
    papers = [item["paper"]["id"] for item in json.loads(HF_DAILY.read_text())][:VOTED]

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with gunicorn(env, ports=[port], workers=processes, threads=6):

        def vote(job: tuple[str, str]) -> int:
            token, paper = job
            request = urllib.request.Request(  # noqa: S310
                f"{base}/api/papers/{paper}/upvote",
                method="POST",
                headers={"Authorization": f"Bearer {token}"},
            )
            with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
                return int(answer.status)

        jobs = [(token, paper) for paper in papers for token in tokens]
        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses = list(pool.map(vote, jobs))
        assert set(statuses) == {HTTPStatus.OK}

        counted = dict(
            sql(
                "SELECT arxiv_id, upvote_count FROM papers_paper WHERE arxiv_id = ANY(%s)",
                [papers],
                dbname=database,
            )
        )
        assert counted == dict.fromkeys(papers, MEMBERS)
        [(rows,)] = sql("SELECT count(*) FROM papers_upvote", dbname=database)
        assert rows == MEMBERS * VOTED

        # Reads: the API's day (the cache may show a count a second late), a page, and
        # searches by words and by meaning (the vectors are read with .iterator()).
        totals = dict(
            sql(
                "SELECT arxiv_id, upvote_count + source_upvotes FROM papers_paper",
                dbname=database,
            )
        )
        for _ in range(50):
            status, body = get(f"{base}/api/daily_papers?date={DAY}&limit=100")
            assert status == HTTPStatus.OK
            shown = {item["paper"]["id"]: item["paper"]["upvotes"] for item in json.loads(body)}
            if shown == totals:
                break
            time.sleep(0.1)
        assert shown == totals
        status, page = get(f"{base}/papers/date/{DAY}")
        assert status == HTTPStatus.OK
        assert b"upvote" in page.lower()
        status, found = get(f"{base}/api/papers/search?q=speeding+up+inference&limit=5")
        assert status == HTTPStatus.OK
        assert json.loads(found)
        status, _page = get(f"{base}/papers/search?q=diffusion")
        assert status == HTTPStatus.OK

        # Many clients, two server connections, every transaction through them.
        pools = [row for row in bouncer.show("POOLS") if row["database"] == database]
        servers = [row for row in bouncer.show("SERVERS") if row["database"] == database]
        clients = [row for row in bouncer.show("CLIENTS") if row["database"] == database]
        stats = next(row for row in bouncer.show("STATS") if row["database"] == database)
        assert pools
        assert pools[0]["pool_mode"] == "transaction"
        assert len(servers) <= 2
        assert len(clients) > 2  # each gunicorn thread keeps its own client connection
        assert int(stats["total_xact_count"]) > MEMBERS * VOTED
        print(
            f"\nPgBouncer: {len(clients)} clients on {len(servers)} server connections, "
            f"{stats['total_xact_count']} transactions"
        )
